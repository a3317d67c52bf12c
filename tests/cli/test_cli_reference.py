"""docs/cli.md is generated from the code and must stay so; every command and parameter explains itself."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from commonspace.cli import reference

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
TREE = reference.commands()
TEXT = reference.render()


def test_docs_cli_md_is_generated_from_the_code() -> None:
    expected = reference.render()
    actual = CLI_MD.read_text(encoding="utf-8") if CLI_MD.exists() else ""
    if actual != expected:
        diff = difflib.unified_diff(
            actual.splitlines(), expected.splitlines(), "docs/cli.md", "generated", lineterm=""
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(f"docs/cli.md is out of date; regenerate it with\n    {reference.REGENERATE}\n\n{shown}")


def test_module_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    reference.main()
    assert capsys.readouterr().out == reference.render()


def test_the_tree_has_every_command() -> None:
    titles = {node.title for node in TREE}
    for expected in ("commonspace init", "commonspace org add", "commonspace report list"):
        assert expected in titles
    assert len(titles) == len(TREE), "two commands with the same name"


@pytest.mark.parametrize("node", TREE, ids=lambda node: node.title)
def test_every_command_has_a_help_text(node: reference.Command) -> None:
    assert node.help, f"'{node.title}' has no help: give its function a docstring (or its Typer a help=)"


@pytest.mark.parametrize("node", TREE, ids=lambda node: node.title)
def test_every_argument_and_option_has_a_help_text(node: reference.Command) -> None:
    missing = [p.name for p in (*node.arguments, *node.options) if not (p.help or "").strip()]
    assert not missing, f"'{node.title}': no help= for {', '.join(missing)}"


@pytest.mark.parametrize("node", TREE, ids=lambda node: node.title)
def test_every_parameter_is_in_the_reference(node: reference.Command) -> None:
    section = TEXT.split(f"## `{node.title}`\n", 1)[1].split("\n## ", 1)[0]
    assert f"```\n{reference.usage(node)}\n```" in section
    for option in node.options:
        for name in option.opts + option.secondary_opts:
            assert f"`{name}" in section or f"/ {name}" in section, name
    for argument in node.arguments:
        assert f"`{argument.name.upper()}`" in section


def test_choices_and_defaults_are_shown() -> None:
    text = TEXT
    assert "`--kind CHOICE`: Kind of organisation. One of `government`, `international-organisation`" in text
    assert "Default: `8000`." in text
    assert "Environment variable: `COMMONSPACE_DATABASE_URL`." in text
    assert (
        "`--read-only / --no-read-only`: The key may read but not change anything. Default: `--no-read-only`."
        in text
    )
