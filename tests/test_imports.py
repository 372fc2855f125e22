"""The package's import graph: the core never imports the UI or gradio, and the registry and the session do
not import each other (the one import circle there was)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "playground"


def imported(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved against its package)."""
    parts = ["playground", *path.relative_to(PACKAGE).with_suffix("").parts]
    package = parts[:-1]  # the package a relative import starts from
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def core_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "ui" not in p.relative_to(PACKAGE).parts]


def test_no_core_module_imports_the_ui_or_gradio():
    for path in core_files():
        bad = {n for n in imported(path) if n.startswith(("playground.ui", "gradio"))}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"
    assert len(core_files()) > 20


def test_the_registry_and_the_session_do_not_import_each_other():
    assert not {n for n in imported(PACKAGE / "registry.py") if n.startswith("playground.session")}
    assert not {n for n in imported(PACKAGE / "session.py") if n.startswith("playground.registry")}
    assert "playground.session" in imported(PACKAGE / "ui" / "common.py")  # the check reads the imports right
