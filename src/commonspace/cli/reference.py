"""The command-line reference (docs/cli.md), generated from the commands themselves.

``python -m commonspace.cli.reference > docs/cli.md`` (or ``make docs``) regenerates it, and
tests/cli/test_cli_reference.py fails when the file and the code disagree, so the reference cannot go
stale. Everything comes from the Typer/Click command tree: usage, the docstrings, and each argument's
and option's help, type, default and environment variable. Nothing here depends on the terminal, so the
output is the same everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import typer.main
from typer.core import TyperArgument, TyperGroup, TyperOption

from commonspace.cli.main import app

REGENERATE = "python -m commonspace.cli.reference > docs/cli.md   (or: make docs)"

_TYPE_NAMES: dict[Any, str] = {
    str: "TEXT",
    int: "INTEGER",
    float: "NUMBER",
    datetime: "DATETIME",
    Path: "PATH",
}


@dataclass(frozen=True)
class Command:
    """One command of the tree, with the words that lead to it (``("org", "add")``)."""

    path: tuple[str, ...]
    command: Any  # a Typer/Click command; Typer's own types moved between releases

    @property
    def title(self) -> str:
        return " ".join(("commonspace", *self.path))

    @property
    def is_group(self) -> bool:
        return isinstance(self.command, TyperGroup)

    @property
    def help(self) -> str:
        return (self.command.help or "").strip()

    @property
    def arguments(self) -> list[Any]:
        return [p for p in self.command.params if isinstance(p, TyperArgument)]

    @property
    def options(self) -> list[Any]:
        return [p for p in self.command.params if isinstance(p, TyperOption) and not p.hidden]


def commands(root: Any = None) -> list[Command]:
    """Every visible command, depth first in the order they were added: the root, then its subcommands."""
    return list(_walk(Command((), root if root is not None else typer.main.get_command(app))))


def _walk(node: Command) -> Iterator[Command]:
    yield node
    if node.is_group:
        for name, sub in node.command.commands.items():
            if not getattr(sub, "hidden", False):
                yield from _walk(Command((*node.path, name), sub))


# --- one parameter ---------------------------------------------------------------------------------


def choices(param: Any) -> list[str]:
    """The values a parameter accepts, when it is a choice (an enumeration)."""
    descriptor = getattr(param, "type_descriptor", None)
    found = getattr(descriptor, "choices", None) if descriptor is not None else None
    if found is None:  # Typer releases built on Click keep them on a click.Choice
        found = getattr(getattr(param, "type", None), "choices", None)
    return [c.value if isinstance(c, Enum) else str(c) for c in found or ()]


def value_name(param: Any) -> str:
    """What the value looks like: TEXT, INTEGER, CHOICE, ..."""
    if getattr(param, "metavar", None):
        return str(param.metavar)
    if choices(param):
        return "CHOICE"
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        annotation = descriptor.annotation
        if get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        return _TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)).upper())
    return str(getattr(getattr(param, "type", None), "name", "text")).upper()


def _is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False))


def _default(param: Any) -> str | None:
    """The default as a user would type it, or None when there is nothing useful to say."""
    default = param.default
    if param.required or default is None or callable(default):
        return None
    if _is_flag(param):
        if param.secondary_opts:
            return str(param.opts[0] if default else param.secondary_opts[0])
        return None  # a lone flag is off unless given
    if isinstance(default, list | tuple):
        return ", ".join(str(d) for d in default) or None
    if isinstance(default, Enum):
        return str(default.value)
    return str(default) if default != "" else None


def argument_line(param: Any) -> str:
    name = param.name.upper()
    facts = [param.help.strip()] if getattr(param, "help", None) else []
    if choices(param):
        facts.append("One of " + ", ".join(f"`{c}`" for c in choices(param)) + ".")
    facts.append("Required." if param.required else f"Optional; default `{_default(param)}`.")
    return f"- `{name}` ({value_name(param).lower()}): " + " ".join(facts)


def option_line(param: Any) -> str:
    names = " / ".join(param.opts + param.secondary_opts)
    spelled = f"`{names}`" if _is_flag(param) else f"`{names} {value_name(param)}`"
    facts = [param.help.strip()] if param.help else []
    values = choices(param)
    if values:
        facts.append("One of " + ", ".join(f"`{c}`" for c in values) + ".")
    if param.multiple:
        facts.append("May be repeated.")
    if param.required:
        facts.append("Required.")
    default = _default(param)
    if default is not None:
        facts.append(f"Default: `{default}`.")
    envvar = param.envvar
    for variable in [envvar] if isinstance(envvar, str) else list(envvar or ()):
        facts.append(f"Environment variable: `{variable}`.")
    return f"- {spelled}: " + " ".join(facts)


# --- the document ----------------------------------------------------------------------------------


def usage(node: Command) -> str:
    pieces = [node.title]
    if node.options:
        pieces.append("[OPTIONS]")
    for arg in node.arguments:
        name = arg.name.upper() + ("..." if arg.nargs != 1 else "")
        pieces.append(name if arg.required else f"[{name}]")
    if node.is_group:
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _anchor(node: Command) -> str:
    return "-".join(node.title.split())


def _section(node: Command) -> list[str]:
    lines = [f"## `{node.title}`", ""]
    if node.help:
        lines += [node.help, ""]
    lines += ["```", usage(node), "```", ""]
    if node.arguments:
        lines += ["Arguments:", "", *(argument_line(p) for p in node.arguments), ""]
    if node.options:
        lines += ["Options:", "", *(option_line(p) for p in node.options), ""]
    if node.is_group:
        lines += ["Commands:", ""]
        for name, sub in node.command.commands.items():
            if not getattr(sub, "hidden", False):
                first = (sub.help or "").strip().splitlines()
                child = Command((*node.path, name), sub)
                lines.append(f"- [`{name}`](#{_anchor(child)}): {first[0] if first else ''}".rstrip())
        lines.append("")
    return lines


def render(root: Any = None) -> str:
    """The whole reference as Markdown."""
    tree = commands(root)
    lines = [
        "# Command-line reference",
        "",
        "<!-- Generated from the code by `python -m commonspace.cli.reference > docs/cli.md` (`make docs`);",
        "     do not edit by hand: tests/cli/test_cli_reference.py fails when this file is out of date. -->",
        "",
        "Every command also takes `--help`. The options of `commonspace` itself, such as `--database`,",
        "go before the command: `commonspace --database sqlite:///other.db init`.",
        "",
        "Without `--as`, a command acts as the operator of this instance, who holds the database anyway;",
        "with `--as EMAIL` it acts as that member, under the same access policy as the API.",
        "",
        *(f"- [`{node.title}`](#{_anchor(node)})" for node in tree),
        "",
    ]
    for node in tree:
        lines += _section(node)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
