"""Print parameters and multiply-adds per pixel for every registered architecture (a Markdown table)."""
from __future__ import annotations

import zoo
from zoo_core.cost import cost


def main() -> None:
    """One row per architecture, with its default hyperparameters."""
    reg = zoo.get_registry()
    print("| architecture | scale | offset | context | parameters | MACs / input px | MACs / output px |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for arch_id in sorted(reg.architectures):
        arch = reg.architectures[arch_id]
        geo, c = arch.geometry(), cost(arch)
        print(f"| {arch_id} | {geo.scale} | {geo.offset} | {geo.context} | {c['parameters']:,} "
              f"| {c['macs_per_input_pixel']:,.0f} | {c['macs_per_output_pixel']:,.0f} |")


if __name__ == "__main__":
    main()
