"""The register_commands hook: a plugin adds `zoo NAME`; the built-in commands come through it too."""
from __future__ import annotations

import sys
import types

import pytest

import zoo
import zoo_core.registry as registry
from zoo_core.cli import builtin_commands, main
from zoo_core.registry import build_registry


def _plugin(name: str, *commands: zoo.Command) -> types.ModuleType:
    """An in-process plugin module implementing register_commands."""
    module = types.ModuleType(name)

    @zoo.hookimpl
    def register_commands(register):
        for command in commands:
            register(command)

    module.register_commands = register_commands
    return module


def _greet_arguments(parser):
    parser.add_argument("who")
    parser.add_argument("--loud", action="store_true")


def _greet(args):
    text = f"hello {args.who}"
    print(text.upper() if args.loud else text)
    return 3 if args.who == "three" else 0


def _fail(args):
    raise zoo.ZooError("Given 'x', expected 'y'. Fix: pass y.")


@pytest.fixture
def use_plugin(monkeypatch):
    """Make main() use a registry holding the installed plugins plus these in-process modules."""
    def use(*modules: types.ModuleType) -> registry.Registry:
        reg = build_registry(extra_modules=list(modules))
        monkeypatch.setattr(registry, "_registry", reg)
        return reg
    return use


def test_a_plugin_adds_a_command(use_plugin, capsys):
    use_plugin(_plugin("greeter", zoo.Command(name="greet", help="say hello", run=_greet, arguments=_greet_arguments)))
    assert main(["greet", "world", "--loud"]) == 0
    assert capsys.readouterr().out == "HELLO WORLD\n"
    assert main(["greet", "three"]) == 3
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "say hello" in capsys.readouterr().out


def test_a_plugin_command_error_is_one_line(use_plugin, capsys):
    use_plugin(_plugin("failing", zoo.Command(name="fail", help="always fails", run=_fail)))
    assert main(["fail"]) == 1
    assert capsys.readouterr().err == "zoo: error: Given 'x', expected 'y'. Fix: pass y.\n"


def test_builtin_commands_are_registered_through_the_hook():
    reg = zoo.get_registry()
    names = [c.name for c in builtin_commands()]
    assert {"list", "info", "plugins", "fetch", "convert", "push", "upscale", "serve", "train", "eval"} <= set(names)
    for name in names:
        assert reg.owners[("commands", name)] == "builtins"
    assert "register_commands" in next(p for p in reg.plugins if p.name == "builtins").hooks


def test_a_clash_keeps_the_builtin_and_names_the_plugin(use_plugin, capsys):
    reg = use_plugin(_plugin("clasher", zoo.Command(name="list", help="not the real list", run=_fail)))
    assert reg.owners[("commands", "list")] == "builtins"
    assert any(p.plugin == "clasher" and "command 'list' is already registered by 'builtins'" in p.message
               for p in reg.problems)
    with pytest.raises(SystemExit):
        main(["list", "--help"])
    assert "--all" in capsys.readouterr().out  # still the built-in list


def test_wrong_objects_are_reported_per_plugin(use_plugin):
    module = types.ModuleType("wrongcmd")

    @zoo.hookimpl
    def register_commands(register):
        register(lambda args: 0)

    module.register_commands = register_commands
    reg = use_plugin(module)
    assert any(p.plugin == "wrongcmd" and "kind 'command'" in p.message for p in reg.problems)
    assert "list" in reg.commands


@pytest.mark.parametrize("bad", [dict(name="Bad Name", help="x", run=_greet), dict(name="ok", help="x", run=3)])
def test_command_fields_are_checked(bad):
    with pytest.raises(zoo.PluginError):
        zoo.Command(**bad)


def test_cli_survives_a_disabled_builtin_plugin(monkeypatch, capsys):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "builtins")
    zoo.reset_registry()
    assert main(["plugins"]) == 0
    assert "builtins (zoo-core" in capsys.readouterr().out


def test_nested_subcommands_keep_working(capsys):
    if "data" not in zoo.get_registry().commands:
        pytest.skip("no command with sub-commands is registered")
    with pytest.raises(SystemExit):
        main(["data", "--help"])
    assert "SUBCOMMAND" in capsys.readouterr().out
    assert sys.modules.get("zoo_core.cli.data_cmd") is not None
