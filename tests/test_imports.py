"""The package's layers, enforced on the real import graph: every `import` in every file, those inside functions
and under TYPE_CHECKING too. A module may import its own layer or those below it, never one above, and no
chain of imports may come back to where it started (a circle).

The layers, top to bottom (README "Design" says what each holds):
    ui, CLI  ->  session  ->  finetune / compare / examples / tour  ->  registry  ->  task modules
    ->  tiny (the trainer)  ->  core utilities
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "playground"

# bottom first; a name is a module of playground/ or a subpackage (all of its modules)
LAYERS: list[tuple[str, set[str]]] = [
    (
        "core utilities",
        {
            "errors",
            "protocols",
            "predictions",
            "maths",
            "fingerprint",
            "model_cache",
            "corpora",
            "devices",
            "hub",
            "gguf",
            "limits",
            "workspace",
            "tokenization",
            "charts",
        },
    ),  # fmt: skip
    ("tiny, the trainer", {"tiny", "tokenizer_training"}),
    (
        "task modules",
        {
            "next_word",
            "fill_mask",
            "next_sentence",
            "masking",
            "attention",
            "positional",
            "probes",
            "export",
            "gguf_export",
            "publish",
        },
    ),
    ("registry", {"registry", "bundled", "encoder"}),
    ("finetune / compare / examples / tour", {"finetune", "compare", "examples", "tour"}),
    ("session", {"session", "budget"}),
    ("ui and the CLI", {"ui", "__main__", "__init__"}),
]


def module_name(path: Path) -> str:
    parts = ["playground", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 2 else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported(path: Path) -> set[str]:
    """The playground modules a file imports, anywhere in it (relative imports resolved against its package;
    `from . import x` names module x, `from .m import y` names module m)."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.update(f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imported(path) for name, path in MODULES.items()}


def layer(module: str) -> int:
    """The index in LAYERS of a module (by its first name under playground/)."""
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    found = [i for i, (_, names) in enumerate(LAYERS) if key in names]
    assert found, f"{module} is in no layer: add it to LAYERS in tests/test_imports.py"
    return found[0]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read_from_every_import():
    assert len(MODULES) > 60
    assert "playground.tiny.model" in GRAPH["playground.tiny.files"]  # a module-level relative import
    assert "playground.fill_mask" in GRAPH["playground.probes"]  # `from . import fill_mask`
    assert "playground.session" in GRAPH["playground.ui.common"]


def test_there_is_no_circle_of_imports():
    assert circles(GRAPH) == []


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{a} ({LAYERS[layer(a)][0]}) imports {b} ({LAYERS[layer(b)][0]})"
        for a, targets in GRAPH.items()
        for b in targets
        if layer(b) > layer(a)
    ]
    assert upward == []


def test_no_core_module_imports_gradio():
    for name, path in MODULES.items():
        if layer(name) < len(LAYERS) - 1:
            tree = ast.parse(path.read_text())
            names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
            assert not {n for n in names if n.split(".")[0] == "gradio"}, f"{name} imports gradio"


@pytest.mark.parametrize(
    "graph, expected",
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
    ],
)
def test_the_circle_finder_finds_circles(graph, expected):
    assert circles(graph) == expected


def test_an_upward_import_would_be_caught():
    assert layer("playground.tiny.timeline") < layer("playground.fill_mask") < layer("playground.session")
    assert layer("playground.ui.train") == len(LAYERS) - 1
    with pytest.raises(AssertionError, match="in no layer"):
        layer("playground.somewhere_new")
