"""The code stays readable in small pieces: no function in playground/ runs past MAX_LINES unless the line that
defines it says why (`# long: <reason>`). Ruff's size rules (pyproject.toml) count arguments, statements and
branches; this counts what a reader scrolls through."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "playground"
MAX_LINES = 60


def long_functions(source: str) -> list[tuple[str, int]]:
    """(name, lines) of each function longer than MAX_LINES whose `def` line gives no `# long:` reason."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            if length > MAX_LINES and "# long:" not in lines[node.lineno - 1]:
                found.append((node.name, length))
    return found


def test_no_function_in_the_package_is_long_without_a_reason():
    found = {
        f"{path.relative_to(PACKAGE)}: {name} ({n} lines)"
        for path in PACKAGE.rglob("*.py")
        for name, n in long_functions(path.read_text())
    }
    assert found == set()


def test_a_long_function_is_found_and_a_reason_excuses_it():
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    assert long_functions(f"def f():\n{body}") == [("f", MAX_LINES + 1)]
    assert long_functions(f"def f():  # long: one table of cases\n{body}") == []
    short = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES - 1))
    assert long_functions(f"def f():\n{short}") == []
