"""The tree is the architecture (docs/architecture.md): imports point one way, from the layers users call down to the
configuration, never back and never in a cycle; the library never imports the app; the package's own modules are
imported at the top of each file (the CLI's dispatch and `lganim.__init__` are the two lazy places)."""
import ast
from pathlib import Path

import pytest

from tests import ROOT

PACKAGE = ROOT / "lganim"
# Lowest first; a module may import only modules of its own layer or below (docs/architecture.md, "Layers").
LAYERS = [
    ("base", ["lganim", "lganim.errors", "lganim.checks", "lganim.config", "lganim.files", "lganim.device",
              "lganim.request"]),
    ("models", ["lganim.models"]),
    ("weights", ["lganim.weights"]),
    ("media", ["lganim.media"]),
    ("face", ["lganim.face"]),
    ("tracks", ["lganim.tracks"]),
    ("start codes", ["lganim.startcodes"]),
    ("motion", ["lganim.motion"]),
    ("request path", ["lganim.edit", "lganim.driving", "lganim.live", "lganim.plan", "lganim.outputs",
                      "lganim.video_edit", "lganim.pipeline"]),
    ("commands", ["lganim.cli", "lganim.tools", "lganim.training", "lganim.sets", "lganim.__main__"]),
]
LAZY_PLACES = {"lganim", "lganim.cli"}          # `--help` and `import lganim` stay free of torch


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix != "lganim" and module.startswith(prefix + ".")):
                best = index
    assert best is not None, f"{module} is in no layer of docs/architecture.md"
    return best


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, inside a function) for every import of lganim's own modules in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package[:len(package) - child.level + 1] + ([base] if base else []))
                if base == "lganim" or base.startswith("lganim."):
                    for alias in child.names:                  # `from . import x` imports the module x
                        sub = f"{base}.{alias.name}"
                        found.append((sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                                      or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else base, inside))
            elif isinstance(child, ast.Import):
                found.extend((a.name, inside) for a in child.names if a.name.split(".")[0] == "lganim")
            elif isinstance(child, ast.Call) and getattr(child.func, "attr", "") == "import_module":
                found.append(("lganim.<dynamic>", True))
            visit(child, inside)

    visit(tree, False)
    return found


GRAPH = {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_imports_point_down_the_layers():
    upward = [(a, b) for a, deps in GRAPH.items() for b, _ in deps
              if b != "lganim.<dynamic>" and layer(b) > layer(a)]
    assert not upward, f"imports against the layers: {upward}"


def test_the_import_graph_has_no_cycle():
    edges = {a: {b for b, lazy in deps if b in GRAPH and b != a and not lazy} for a, deps in GRAPH.items()}
    state: dict[str, int] = {}

    def walk(node, path):
        state[node] = 1
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                pytest.fail(f"import cycle: {' -> '.join(path[path.index(nxt):] + [nxt])}")
            if nxt not in state:
                walk(nxt, path + [nxt])
        state[node] = 2

    for node in edges:
        if node not in state:
            walk(node, [node])


def test_own_modules_are_imported_at_the_top_but_in_the_two_lazy_places():
    lazy = {a for a, deps in GRAPH.items() if any(inside for _, inside in deps)}
    assert lazy <= LAZY_PLACES, f"imports of lganim inside functions: {sorted(lazy - LAZY_PLACES)}"


def test_the_library_never_imports_the_app():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
                  and not n.level}
        assert not names & {"gradio", "ui", "app", "spaces"}, path


def tab_modules() -> set[str]:
    """The ui modules that build a tab (a `gr.Tab(...)` in their `build`)."""
    return {p.stem for p in (ROOT / "ui").glob("*.py") if "gr.Tab(" in p.read_text(encoding="utf-8")}


def test_no_tab_imports_another_tab():
    tabs = tab_modules()
    assert {"one_clip", "batch", "drive", "talk", "edit", "live"} <= tabs
    for tab in tabs:
        tree = ast.parse((ROOT / "ui" / f"{tab}.py").read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 and not n.module
                    for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1
                     and n.module}
        assert not imported & (tabs - {tab}), f"ui/{tab}.py imports the tab {sorted(imported & tabs)}"
