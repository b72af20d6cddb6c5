"""The layer rules of ARCHITECTURE.md, checked on the package's own import graph (every import, at module level or
inside a function): no package imports upward, no two packages import each other (nor do modules, in any cycle),
and faces reach use cases only through services and the composition root, never the catalog, the store, the
search engine or the database. The checker is shown failing on the violations the layering was made to end."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "strongroom"

# Lowest first. A module may import its own layer and those below it, never one above.
LAYERS: list[set[str]] = [
    {"errors", "clock", "domain", "__init__"},
    {"alloc", "formats", "filelocks", "keys", "progress", "settings", "space", "walk"},
    {"store", "search", "catalog", "ingest", "harvest", "network", "samples", "inprocess"},
    {"services"},
    {"node"},
    {"cli", "portal", "peer", "demo", "demo_network", "worker", "__main__"},
]
FACES = LAYERS[-1]
# What a face may import: use cases, the composition root, the vocabulary they speak in, and other faces. The peer
# API, the face of the wire protocol, also signs and checks its messages.
FACE_MAY_IMPORT = {
    "services",
    "node",
    "domain",
    "errors",
    "settings",
    "space",
    "progress",
    "clock",
    "formats",
    "keys",
    "samples",
}
FACE_MAY_IMPORT |= {"inprocess"} | FACES
PEER_MAY_IMPORT = FACE_MAY_IMPORT | {"network"}
FORBIDDEN_IN_FACES = ("sqlalchemy",)


def layer_of(package: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(["strongroom", *package.split(".")[: max(0, len(package.split(".")) - node.level + 1)]])
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
                names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def import_graph() -> dict[str, set[str]]:
    """strongroom module -> the strongroom modules it imports (names relative to the package)."""
    modules = {module_name(p): p for p in SRC.rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path):
            if imported == "strongroom" or not imported.startswith("strongroom."):
                continue
            rel = imported[len("strongroom.") :]
            while rel and rel not in modules:  # "from strongroom.services import harvests" names a module
                rel = rel.rpartition(".")[0]
            if rel and rel != name:
                targets.add(rel)
        graph[name] = targets
    return graph


def third_party(path: Path) -> set[str]:
    return {n.split(".")[0] for n in imports_of(path) if not n.startswith("strongroom")}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def violations(graph: dict[str, set[str]], third: dict[str, set[str]] | None = None) -> list[str]:
    """Every broken rule in a module import graph (module names relative to the package)."""
    problems = []
    top = {m: m.split(".")[0] for m in {*graph, *(t for ts in graph.values() for t in ts)}}
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        src = top[module]
        for target in targets:
            dst = top[target]
            if dst == src:
                continue
            packages.setdefault(src, set()).add(dst)
            if layer_of(dst) > layer_of(src):
                problems.append(f"upward import: {module} imports {target}")
            allowed = PEER_MAY_IMPORT if src == "peer" else FACE_MAY_IMPORT
            if src in FACES and dst not in allowed:
                problems.append(f"face reaches past the application layer: {module} imports {target}")
    for module, libs in (third or {}).items():
        if top.get(module, module.split(".")[0]) in FACES:
            problems += [
                f"face uses the database directly: {module} imports {lib}" for lib in libs & set(FORBIDDEN_IN_FACES)
            ]
    problems += [f"packages import each other: {' <-> '.join(c)}" for c in _cycles(packages)]
    problems += [f"import cycle between modules: {' -> '.join(c)}" for c in _cycles(graph)]
    return problems


def test_the_package_keeps_its_layers() -> None:
    graph = import_graph()
    assert {"services.deposit", "portal.app", "peer.api", "cli.main", "node"} <= set(graph), "the scan missed modules"
    third = {module_name(p): third_party(p) for p in SRC.rglob("*.py") if "migrations" not in p.parts}
    assert violations(graph, third) == []


def test_the_checker_finds_the_violations_the_layering_ended() -> None:
    """Each shape the issue found in the old code, as a graph: the checker must name it."""
    old = {
        "peer.daemon": {"node"},  # a face importing the root is fine ...
        "node": {"network.service"},  # ... but the old network/service.py took the whole Node:
        "network.service": {"node", "services.indexer"},
        "services.triggers": {"network.config"},  # a service importing an adapter is fine, but
        "network.config": {"services.triggers"},  # not the other way round
        "services.indexer": {"services.release_record"},
        "services.release_record": {"services.indexer"},
        "cli.institutions": {"catalog.repo"},
        "portal.app": {"store.ocfl"},
    }
    found = "\n".join(violations(old, {"portal.released": {"sqlalchemy"}}))
    assert "upward import: network.service imports node" in found
    assert "upward import: network.config imports services.triggers" in found
    assert "packages import each other" in found and "network" in found
    assert "import cycle between modules: services.indexer -> services.release_record" in found
    assert "face reaches past the application layer: cli.institutions imports catalog.repo" in found
    assert "face reaches past the application layer: portal.app imports store.ocfl" in found
    assert "face uses the database directly: portal.released imports sqlalchemy" in found


def test_no_storage_path_leaves_the_store() -> None:
    """Code outside the store reaches stored bytes through the object-store interface, never a filesystem path
    (the demo's deliberate damage, in samples/, is the one tool that touches the local disk)."""
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(("store/", "samples/")):
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\.object_path\(|\bOcflStore\b|strongroom\.store\.ocfl", text), (
            f"{rel} reaches past the storage seam"
        )
