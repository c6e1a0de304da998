"""The layers are checked, not only described: specs ← compiler ← reconciler, and the
pure stages do no I/O of their own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "converge"
OURS = ("specs", "compiler", "reconciler", "templates")
PURE = ["compiler/loader.py", "compiler/validate.py", "compiler/expand.py", "compiler/model.py",
        "compiler/pipeline.py", "compiler/promql", "compiler/gotemplate",
        "compiler/templatecheck.py", "compiler/matchers.py", "compiler/evaluate",
        "compiler/bundle.py", "compiler/checks", "compiler/render", "compiler/formats",
        "compiler/dashboard.py",
        "compiler/diff", "compiler/testing/routing.py",
        "compiler/testing/rules.py", "compiler/testing/promtool_output.py",
        "compiler/testing/alert_diff.py", "compiler/testing/series.py",
        "compiler/testing/results.py", "compiler/testing/report.py", "specs",
        "compiler/fmt", "compiler/watch/debounce.py",
        "reconciler/sidecar/decide.py", "reconciler/sidecar/bundles.py",
        "reconciler/sidecar/secrets.py", "reconciler/sidecar/expect.py"]
IO_MODULES = {"subprocess", "httpx", "docker", "sqlite3", "socket", "git", "shutil"}


def _absolute_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _imports(path: Path) -> set[str]:
    """The modules `path` imports, ours named inside the package (`compiler.x` for
    `converge.compiler.x`), so the layer rules read like the repository's folders."""
    return {name.removeprefix(f"{PACKAGE}.") for name in _absolute_imports(path)}


def _files(*parts: str) -> list[Path]:
    found: list[Path] = []
    for part in parts:
        path = ROOT / part
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return found


@pytest.mark.parametrize("path", _files("specs"), ids=lambda p: str(p.relative_to(ROOT)))
def test_specs_import_nothing_of_ours(path: Path) -> None:
    ours = {n for n in _imports(path) if n.split(".")[0] in OURS and n.split(".")[0] != "specs"}
    assert not ours, f"{path} imports {ours}"


@pytest.mark.parametrize("path", _files("compiler"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_compiler_does_not_import_the_reconciler(path: Path) -> None:
    assert not {n for n in _imports(path) if n.split(".")[0] == "reconciler"}


@pytest.mark.parametrize("path", _files(*PURE), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_stages_do_no_io(path: Path) -> None:
    io = {n for n in _imports(path) if n.split(".")[0] in IO_MODULES}
    assert not io, f"{path} imports {io}"


@pytest.mark.parametrize("path", _files("compiler/checks"), ids=lambda p: p.name)
def test_checks_do_not_import_each_other(path: Path) -> None:
    others = {n for n in _imports(path) if n.startswith("compiler.checks.")
              and n != "compiler.checks.context"}
    assert not others, f"{path} imports {others}"


@pytest.mark.parametrize("path", _files(*OURS, "tests", "benchmarks"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_our_modules_are_imported_through_the_converge_namespace(path: Path) -> None:
    """`import compiler` works only from a checkout; the installed package is `converge.*`."""
    bare = {n for n in _absolute_imports(path) if n.split(".")[0] in OURS}
    assert not bare, f"{path} imports {bare}: import them as {PACKAGE}.<name>"


def _module_graph() -> dict[str, set[str]]:
    """Our modules and the modules of ours each imports (anywhere in it, type-only imports
    and imports inside functions included); `from pkg import sub` depends on `pkg.sub`."""
    modules: dict[str, Path] = {}
    for folder in OURS:
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            modules[".".join([PACKAGE, *(parts[:-1] if parts[-1] == "__init__" else parts)])] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                found |= subs
                if len(subs) < len(node.names):
                    found.add(node.module)
        graph[name] = (found & modules.keys()) - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_module_imports_itself_back() -> None:
    """No import circles, even type-only or deferred ones: shared things sit below both
    sides (the server's `service` protocol, the sidecar's target `registry`)."""
    graph = _module_graph()
    assert len(graph) > 250
    assert _cycles(graph) == []
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
