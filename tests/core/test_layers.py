"""The engine's folders are its layers (docs/ARCHITECTURE.md): each package imports only
from the floors below it, no module imports another's private names, and there is no
import loop, even through imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"

#: Package -> the packages it may import from (itself included). ``core.errors`` is
#: the ground floor everyone stands on.
MAY_IMPORT = {
    "contracts": {"errors", "contracts"},
    "model": {"errors", "contracts", "model"},
    "io": {"errors", "contracts", "model", "io"},
    "render": {"errors", "contracts", "model", "render"},
    "painters": {"errors", "contracts", "model", "io", "render", "painters"},
    "app": {"errors", "contracts", "model", "io", "render", "painters", "app"},
}


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(CORE.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in CORE.rglob("*.py")}


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names, line) for every import of a core module, at any depth."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("core"):
                continue
            names = [a.name for a in node.names]
            if node.module is None:  # from . import x: x is a module
                out += [(f"{target}.{n}", [], node.lineno) for n in names]
            else:
                out.append((target, names, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names if a.name.startswith("core")]
    return out


def _floor(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_each_package_imports_only_from_the_floors_below_it():
    wrong = []
    for module, path in _modules().items():
        floor = _floor(module)
        if floor not in MAY_IMPORT:
            continue
        for target, _, line in _imports(module, path):
            if _floor(target) not in MAY_IMPORT[floor]:
                wrong.append(f"{module}:{line} imports {target}")
    assert not wrong, wrong


def test_no_module_imports_another_modules_private_names():
    wrong = [f"{module}:{line} imports {name} from {target}"
             for module, path in _modules().items()
             for target, names, line in _imports(module, path)
             for name in names if name.startswith("_") and target != module]
    assert not wrong, wrong


def test_there_is_no_import_loop():
    modules = _modules()
    graph = {m: {t for t, _, _ in _imports(m, p) if t in modules and t != m and not t == "core"}
             for m, p in modules.items()}
    state: dict[str, int] = {}
    loops = []

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                loops.append(" -> ".join(trail[trail.index(t):] + [t]) if t in trail else f"{m} -> {t}")
            elif t not in state:
                visit(t, trail + [t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not loops, loops


@pytest.mark.parametrize("banned", ["bpy", "random_params(spec, n, gen, max_size=0.6 / level)"])
def test_the_engine_ships_neither_blender_nor_test_stand_ins(banned):
    hits = [str(p.relative_to(CORE.parent)) for p in CORE.rglob("*.py")
            if f"import {banned}" in p.read_text() or (" " in banned and banned in p.read_text())]
    assert not hits, hits
