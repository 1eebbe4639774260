"""Start-up time of the light commands vs `python -c "import torch"`, measured in one run (issue 14's goal: <= 0.35x).

    .venv/bin/python benchmarks/startup.py [--repeat 5]

Each command runs in a fresh interpreter; the table shows the median wall time and the ratio to importing
torch. A private ZOO_HOME is used: the first run of `zoo list`/`zoo info` measures the models' costs (that
builds the networks, so it imports torch) and stores them; the timed runs read them, as every later run does.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = (["--help"], ["list"], ["info", "upconv7-noise1"], ["plugins"])
ZOO = "import sys; from zoo_core.cli import main; sys.exit(main(sys.argv[1:]))"
GOAL = 0.35


def run(args: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one fresh interpreter running `args` (output discarded, failure raised)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def median(args: list[str], env: dict[str, str], repeat: int) -> float:
    """Median of `repeat` runs."""
    return statistics.median(run(args, env) for _ in range(repeat))


def main() -> int:
    """Print the table and return 1 if a command misses the goal."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "ZOO_HOME": home, "HF_HUB_OFFLINE": "1"}
        cold = {" ".join(c): run(["-c", ZOO, *c], env) for c in COMMANDS}  # fills the cost cache
        torch_s = median(["-c", "import torch"], env, args.repeat)
        rows = [(" ".join(c), median(["-c", ZOO, *c], env, args.repeat)) for c in COMMANDS]
    print(f"python -c 'import torch': {torch_s:.3f} s (median of {args.repeat})")
    print(f"{'command':<26} {'first run':>9} {'median':>8} {'ratio':>6}")
    for name, seconds in rows:
        print(f"zoo {name:<22} {cold[name]:>8.3f}s {seconds:>7.3f}s {seconds / torch_s:>6.2f}")
    worst = max(s for _, s in rows) / torch_s
    print(f"worst ratio {worst:.2f} (goal <= {GOAL}): {'met' if worst <= GOAL else 'NOT met'}")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
