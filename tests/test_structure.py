"""The package's shape: no import cycle among palcli's modules, python -m palcli, the API."""

import ast
import subprocess
import sys
from pathlib import Path

import palcli

PACKAGE = Path(palcli.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    """palcli modules this file imports, at module level or inside functions (anything but an
    `if TYPE_CHECKING:` block)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING"
            for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("palcli")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("palcli"):
                continue
            for a in node.names:  # `from . import x` names a module when x is one
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base)
    return found


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        deps = set()
        for dep in _imports(path, name):
            while dep not in MODULES and "." in dep:
                dep = dep.rpartition(".")[0]
            if dep in MODULES and dep != name:
                deps.add(dep)
        graph[name] = deps
    return graph


def test_no_import_cycle():
    graph = _graph()
    assert graph["palcli.cli._shell"] >= {"palcli.errors"}  # the parser sees imports at all
    assert "palcli.mapping" in graph["palcli.worker"]
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_library_never_imports_the_command_line():
    graph = _graph()
    library = [m for m in graph if not m.startswith("palcli.cli") and m != "palcli.__main__"]
    assert not [m for m in library if any(d.startswith("palcli.cli") for d in graph[m])]


def test_python_dash_m_palcli():
    r = subprocess.run([sys.executable, "-m", "palcli", "palette", "show", "#000,#fff"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-2:] == ["0 #000000", "1 #ffffff"]
    bad = subprocess.run([sys.executable, "-m", "palcli", "palette", "show", "nope-nope"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.startswith("palcli: error: nope-nope: no such palette")


def test_public_names_all_work():
    import importlib

    for name in palcli.__all__:
        assert getattr(palcli, name) is not None
    importlib.import_module("palcli.mapping")  # the submodule does not shadow the function
    assert callable(palcli.quantize) and callable(palcli.remap)
