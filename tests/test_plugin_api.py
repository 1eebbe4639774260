"""The public plugin API (zoo.plugin): every built-in plugin and the example plugin import only it (and `zoo`)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import zoo.plugin

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"zoo", "zoo.plugin"}


def _plugin_sources() -> list[Path]:
    """Every Python file of the built-in plugins (packages, scripts, tests, benchmarks) and the example plugin."""
    files = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "tests" / "example_plugin").rglob("*.py")]
    return [p for p in files if not {"build", ".venv"} & set(p.parts)]


def _zoo_imports(path: Path) -> list[str]:
    """'file:line module' for each absolute import of zoo or zoo_core other than the public API."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{path.name}:{node.lineno} {n}" if ROOT not in path.parents else
                  f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                  if n.split(".")[0] in ("zoo", "zoo_core") and n not in ALLOWED]
    return found


def test_plugins_import_only_the_public_api():
    files = _plugin_sources()
    assert len(files) > 20  # the walk found the plugins
    hits = [hit for path in files for hit in _zoo_imports(path)]
    assert not hits, f"import these through zoo.plugin (add the name there if it is missing): {hits}"


def test_the_walk_sees_a_private_import(tmp_path: Path):
    path = tmp_path / "sample.py"
    path.write_text("import zoo\nfrom zoo.plugin import cost\nfrom zoo_core.infer import image_se\nimport zoo_core.cost\n")
    assert [h.split(" ", 1)[1] for h in _zoo_imports(path)] == ["zoo_core.infer", "zoo_core.cost"]


def test_every_exported_name_resolves():
    for name in zoo.plugin.__all__:
        assert getattr(zoo.plugin, name) is not None, name
    with pytest.raises(AttributeError, match="it offers: "):
        zoo.plugin.not_a_name  # noqa: B018


@pytest.mark.slow
def test_importing_the_api_loads_no_torch():
    code = "import sys, zoo.plugin; zoo.plugin.hookimpl; zoo.plugin.CardSpec; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
