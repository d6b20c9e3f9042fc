"""sweeps/ has no import cycle between its modules, and the report's data flows one way:
collect -> judge -> render -> report (the command line), never back."""

from __future__ import annotations

import ast
from pathlib import Path

import sweeps

SWEEPS = Path(sweeps.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    """The sweeps modules a file imports, also inside functions; `if TYPE_CHECKING:` imports excluded."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "sweeps":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sweeps."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("sweeps.")}
    return found - {path.stem}


GRAPH = {p.stem: _imports(p) for p in SWEEPS.glob("*.py")}


def _reaches(start: str, target: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH.get(todo.pop(), set()) - seen:
            if nxt == target:
                return True
            seen.add(nxt)
            todo.append(nxt)
    return False


def test_no_import_cycle_between_sweeps_modules() -> None:
    assert {"collect", "judge", "render", "report", "trial", "summary", "files"} <= set(GRAPH)
    cycles = [m for m in GRAPH if _reaches(m, m)]
    assert cycles == [], {m: sorted(GRAPH[m]) for m in cycles}


def test_the_report_flows_collect_judge_render() -> None:
    order = ["files", "summary", "collect", "analytics", "judge", "plots", "render", "report"]
    for i, low in enumerate(order):
        for high in order[i + 1:]:
            assert not _reaches(low, high), f"sweeps/{low}.py imports sweeps/{high}.py (directly or not)"
    assert GRAPH["files"] == set()  # the shared readers depend on nothing else in sweeps/
