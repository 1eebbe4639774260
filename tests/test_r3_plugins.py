"""Issue 25 items 9, 11 and 16 (plugins): built-in commands stay zoo's, and every kind of plugin failure stays
inside that plugin, named; real installed plugin distributions (conftest.install_plugin)."""
from __future__ import annotations

import sys

import pytest

from zoo_core.cli import main

pytestmark = pytest.mark.slow  # each runs zoo commands in-process with a registry rebuilt (about 1-2 s)

EVIL = """
    import zoo

    @zoo.hookimpl
    def register_commands(register):
        register(zoo.Command(name="list", help="evil", run=lambda args: print("EVIL LIST")))
        register(zoo.Command(name="upscale", help="evil", run=lambda args: print("EVIL UPSCALE")))
"""


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


def test_a_plugin_sorting_before_builtins_cannot_replace_a_builtin_command(install_plugin, capsys, monkeypatch):
    """Was: entry point 'aaa' registering `list` printed its text, and `zoo plugins` called the built-ins broken."""
    install_plugin("aaa-evil", "aaa_evil", EVIL)
    code, out, err = run(["list"], capsys)
    assert code == 0 and "EVIL" not in out and "example-tiny-nearest" in out
    assert "plugin 'aaa-evil': command 'list' is already registered by 'builtins'" in err
    code, out, _ = run(["plugins"], capsys)
    lines = out.splitlines()
    builtins = next(ln for ln in lines if ln.startswith("builtins "))
    evil = next(ln for ln in lines if ln.startswith("aaa-evil "))
    assert "[ok]" in builtins and "[BROKEN]" in evil
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "builtins")  # zoo's commands stay zoo's without the built-in plugin
    import zoo

    zoo.reset_registry()
    code, out, _ = run(["list"], capsys)
    assert "EVIL" not in out


def test_disabling_a_dotted_plugin_never_imports_its_parent_package(install_plugin, capsys, monkeypatch):
    """Was: ZOO_DISABLE_PLUGINS still imported the parent package of 'pkg.plugin'; its raise crashed every command."""
    root = install_plugin("zoo-dotted", "unused_dotted", "")
    pkg = root / "dotted_pkg"
    (pkg / "cards").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('the parent package was imported')\n")
    (pkg / "plug.py").write_text("import zoo\n")
    (root / "zoo_dotted-0.1.dist-info" / "entry_points.txt").write_text("[zoo]\nzoo-dotted = dotted_pkg.plug\n")
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "zoo-dotted")
    import zoo

    zoo.reset_registry()
    code, out, err = run(["list"], capsys)
    assert code == 0 and "example-tiny-nearest" in out and "parent package was imported" not in err
    assert "dotted_pkg" not in sys.modules


FAILURES = {  # plugin source -> words its one problem line holds
    "arguments_raise": ("""
        import zoo
        def arguments(parser):
            raise RuntimeError("boom in arguments")
        @zoo.hookimpl
        def register_commands(register):
            register(zoo.Command(name="mycmd", help="x", run=lambda a: 0, arguments=arguments))
    """, "arguments() raised RuntimeError: boom in arguments"),
    "arguments_h": ("""
        import zoo
        @zoo.hookimpl
        def register_commands(register):
            register(zoo.Command(name="mycmd", help="x", run=lambda a: 0, arguments=lambda p: p.add_argument("-h")))
    """, "conflicting option string: -h"),
    "exit_at_import": ("import sys\nsys.exit(0)\n", "it called sys.exit(0)"),
    "keyboard_interrupt_in_hook": ("""
        import zoo
        @zoo.hookimpl
        def register_losses(register):
            raise KeyboardInterrupt
    """, "register_losses raised KeyboardInterrupt"),
    "system_exit_in_hook": ("""
        import zoo
        @zoo.hookimpl
        def register_degradations(register):
            raise SystemExit(3)
    """, "register_degradations raised SystemExit: it called sys.exit(3)"),
    "context_raises": ("""
        import zoo
        @zoo.hookimpl
        def register_architectures(register):
            register(zoo.Architecture(id="ctxzero", build="zoo_example.model:build", scale=2, offset=0,
                                      context=lambda: 1 / 0))
    """, "context(hyperparameters) raised TypeError"),
    "context_huge": ("""
        import zoo
        @zoo.hookimpl
        def register_architectures(register):
            register(zoo.Architecture(id="bigctx", build="zoo_example.model:build", scale=2, offset=0, context=10**9))
    """, "context must be a whole number from 0 to 4096, got 1000000000"),
    "cards_from_dev_zero": ("""
        import zoo
        @zoo.hookimpl
        def register_model_cards(register):
            register("/dev/zero")
    """, "/dev/zero: not a regular file"),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_plugin_failure_stays_inside_that_plugin(case, install_plugin, capsys):
    source, words = FAILURES[case]
    dist = f"zoo-{case.replace('_', '-')}"
    install_plugin(dist, f"zoo_{case}", source)
    code, out, err = run(["list"], capsys)
    assert code == 0 and "example-tiny-nearest" in out, err  # every other command still works
    problem = [ln for ln in err.splitlines() if ln.startswith(f"zoo: warning: plugin '{dist}'")]
    assert len(problem) == 1 and words in problem[0], err
    code, out, _ = run(["plugins"], capsys)
    assert code == 0 and f"{dist} (" in out and words in out


def test_argparse_at_import_sees_none_of_zoos_arguments(install_plugin, capsys):
    """Was: a plugin parsing sys.argv at import printed its usage and exited 2 for every zoo command."""
    install_plugin("zoo-argv", "zoo_argv", "import argparse\nargparse.ArgumentParser().parse_args()\n")
    code, out, err = run(["list"], capsys)
    assert code == 0 and "example-tiny-nearest" in out and "usage" not in err


def test_a_plugin_command_that_raises_is_one_line_naming_it(install_plugin, capsys):
    install_plugin("zoo-runraise", "zoo_runraise", """
        import zoo
        def run(args):
            raise RuntimeError("boom in run")
        @zoo.hookimpl
        def register_commands(register):
            register(zoo.Command(name="runraise", help="x", run=run))
    """)
    code, _, err = run(["runraise"], capsys)
    assert code == 1 and err.strip() == (
        "zoo: error: command 'runraise' of plugin 'zoo-runraise' failed: RuntimeError: boom in run. Report it to the "
        "plugin's author, or disable it with ZOO_DISABLE_PLUGINS=zoo-runraise.")


def test_a_slow_plugin_import_is_named_while_zoo_waits(install_plugin, capsys, monkeypatch):
    """Was: a 30 s import and no word of why `zoo list` waited (the threshold is lowered here to keep the test fast)."""
    import zoo_core.plugins

    monkeypatch.setattr(zoo_core.plugins, "SLOW_IMPORT_S", 0.1)
    install_plugin("zoo-slow", "zoo_slow", "import time\ntime.sleep(0.6)\n")
    code, _, err = run(["plugins"], capsys)
    assert code == 0 and "zoo: still importing plugin 'zoo-slow' after 0.1 s (disable it with " \
                         "ZOO_DISABLE_PLUGINS=zoo-slow)." in err
