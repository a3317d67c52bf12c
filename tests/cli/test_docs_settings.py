"""Every environment variable the project reads is documented in docs/ (datasette-style).

The variables are found in the syntax trees of src/, tests/ and bench/: ``os.environ.get(X)``,
``os.environ[X]``, ``os.getenv(X)`` and ``envvar=X`` (Typer options), where X is a string or a
module-level string constant. A read whose name cannot be worked out fails the test too, so that no
setting slips past it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("src", "tests", "bench")
DOCS = ROOT / "docs"


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments."""
    found: dict[str, str] = {}
    for node in tree.body:
        value = getattr(node, "value", None)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = value.value
    return found


def _is_environ(node: ast.expr) -> bool:
    """``os.environ`` or a bare ``environ``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "environ"


def _names_read(tree: ast.Module) -> Iterator[tuple[int, ast.expr]]:
    """(line, expression naming the variable) for every read of the environment."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and node.args:
                reads_environ = _is_environ(func.value) and func.attr in ("get", "setdefault", "pop")
                is_getenv = (
                    func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os"
                )
                if reads_environ or is_getenv:
                    yield node.lineno, node.args[0]
            for keyword in node.keywords:
                if keyword.arg == "envvar":
                    yield node.lineno, keyword.value
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value):
            yield node.lineno, node.slice


@functools.cache
def environment_variables() -> dict[str, list[str]]:
    """Variable name -> where it is read (``path:line``); unresolvable reads under ``?path:line``."""
    found: dict[str, list[str]] = {}
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            constants = _constants(tree)
            where = path.relative_to(ROOT).as_posix()
            for line, expr in _names_read(tree):
                if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
                    names = [expr.value]
                elif isinstance(expr, ast.Name) and expr.id in constants:
                    names = [constants[expr.id]]
                elif isinstance(expr, ast.List | ast.Tuple):
                    names = [
                        e.value if isinstance(e, ast.Constant) else constants.get(getattr(e, "id", ""), "?")
                        for e in expr.elts
                    ]
                elif isinstance(expr, ast.Constant) and expr.value is None:
                    continue  # envvar=None
                else:
                    names = ["?"]
                for name in names:
                    found.setdefault(name, []).append(f"{where}:{line}")
    return found


@functools.cache
def documentation() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md")))


def test_the_scanner_finds_the_known_variables() -> None:
    found = environment_variables()
    # Read through a constant in store/db.py, and as envvar= of the --database option.
    assert any(w.startswith("src/commonspace/store/db.py") for w in found["COMMONSPACE_DATABASE_URL"])
    assert any(w.startswith("src/commonspace/cli/main.py") for w in found["COMMONSPACE_DATABASE_URL"])
    assert "COMMONSPACE_TEST_POSTGRES" in found
    assert "CI" in found


def test_every_environment_variable_read_is_named_plainly() -> None:
    unresolved = environment_variables().get("?", [])
    assert not unresolved, f"cannot tell which environment variable is read at {unresolved}: use a constant"


@pytest.mark.parametrize("name", sorted(n for n in environment_variables() if n != "?"))
def test_every_environment_variable_is_documented(name: str) -> None:
    if f"`{name}`" not in documentation():
        where = ", ".join(environment_variables()[name])
        pytest.fail(
            f"{name} (read at {where}) is not documented in docs/*.md: say what it does and its default"
        )
