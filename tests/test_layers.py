"""The layering of envkit, rewards, agents and sweeps, read from the code's own imports.

Layers, lowest first (docs/architecture.md); a module may import only its own layer or lower:

    0 spec        envkit.errors, hints, spec, checks, fixtures, robot, state, context, scenes
    1 rewards     rewards.*: per-step terms, registry, presets (see a StepContext only)
    2 backends    envkit.backends.*: the only code that imports pybullet or panda_gym
    3 env         the rest of envkit: env, events, termination, sampling, reward_guard,
                  loader, registry, observations, camera, randomization, the package itself
    4 agents      agents.*: sees only gymnasium (imports nothing of envkit, rewards, sweeps)
    5 analysis    envkit.analysis.*: lint, profiles, scenefacts, probe, ablation
    6 sweeps      sweeps.*
    7 CLI         envkit.cli, envkit.commands.*

Every import counts, also one inside a function (it runs the first time the function
does) and `importlib.import_module("literal")`; imports under `if TYPE_CHECKING:` do
not (they never run). Importing any module of a package runs the package's
`__init__.py` first, so its import-time imports may not be higher than the lowest
module of the package. And no file may take part in an import cycle.

The checker works on a mapping of file paths to sources, so the tests at the bottom
run it on small synthetic trees that reproduce each cycle issue 15 listed: it fails on
every one of them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envkit", "rewards", "agents", "sweeps")
SIMULATORS = ("pybullet", "pybullet_data", "panda_gym")

#: Module prefix -> layer; the longest matching prefix decides.
LAYERS: dict[str, int] = {
    "envkit.errors": 0,
    "envkit.hints": 0,
    "envkit.spec": 0,
    "envkit.checks": 0,
    "envkit.fixtures": 0,
    "envkit.robot": 0,
    "envkit.state": 0,
    "envkit.context": 0,
    "envkit.scenes": 0,
    "rewards": 1,
    "envkit.backends": 2,
    "envkit": 3,
    "agents": 4,
    "envkit.analysis": 5,
    "sweeps": 6,
    "envkit.cli": 7,
    "envkit.commands": 7,
}
LAYER_NAMES = ["spec", "rewards", "backends", "env", "agents", "analysis", "sweeps", "CLI"]


@dataclass(frozen=True)
class Import:
    source: str  # importing module, e.g. "envkit.env"
    path: str  # its file, e.g. "envkit/env.py"
    line: int
    target: str  # imported module, resolved to a project module where there is one
    eager: bool  # runs when the importing module is imported (not inside a function)

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def module_name(path: str) -> str:
    parts = list(Path(path).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def read_tree(root: Path = ROOT) -> dict[str, str]:
    """path -> source of every module of the four packages."""
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for pkg in PACKAGES
        for p in sorted((root / pkg).rglob("*.py"))
    }


def _typing_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes under `if TYPE_CHECKING:` (never run)."""
    return {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }


def _in_functions(tree: ast.Module) -> set[int]:
    return {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for n in ast.walk(node)
        if n is not node
    }


def _resolve(name: str, modules: set[str]) -> str:
    """The project module an imported name lives in (longest known prefix), else its top package."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        if ".".join(parts[:cut]) in modules:
            return ".".join(parts[:cut])
    return parts[0]


def imports_of(tree_sources: dict[str, str]) -> list[Import]:
    """Every import of every module in `tree_sources` (path -> source), resolved."""
    modules = {module_name(p) for p in tree_sources}
    found: list[Import] = []
    for path, source in tree_sources.items():
        me = module_name(path)
        is_package = path.endswith("__init__.py")
        tree = ast.parse(source, filename=path)
        skip, lazy = _typing_only(tree), _in_functions(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = me.split(".") if is_package else me.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                # `from pkg import sub` imports the module pkg.sub; `from pkg import name`, pkg itself
                names = [
                    f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names
                ]
            elif (
                isinstance(node, ast.Call)
                and ast.unparse(node.func) in ("importlib.import_module", "import_module", "__import__")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names = [node.args[0].value]
            for name in dict.fromkeys(names):
                target = _resolve(name, modules)
                if target != me:
                    found.append(Import(me, path, node.lineno, target, id(node) not in lazy))
    return found


def layer(module: str) -> int | None:
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key in LAYERS:
            return LAYERS[key]
    return None


def _named(n: int) -> str:
    return f"layer {n} ({LAYER_NAMES[n]})"


def upward_imports(imports: list[Import]) -> list[str]:
    """Imports of a higher layer, and agents importing envkit, rewards or sweeps at all."""
    problems = []
    for imp in imports:
        mine, theirs = layer(imp.source), layer(imp.target)
        if mine is None or theirs is None:
            continue
        if imp.source.split(".")[0] == "agents" and imp.target.split(".")[0] in (
            "envkit",
            "rewards",
            "sweeps",
        ):
            problems.append(
                f"{imp.where()}: {imp.source} imports {imp.target}; agents see only gymnasium and import "
                "nothing of envkit, rewards or sweeps"
            )
        elif theirs > mine:
            problems.append(
                f"{imp.where()}: {imp.source} ({_named(mine)}) imports {imp.target} ({_named(theirs)}), "
                "a higher layer; move the shared code down, or the import up"
            )
    return problems


def eager_imports_in_package_inits(imports: list[Import]) -> list[str]:
    """A package's __init__ runs before any of its modules, so what it imports at import time
    may be no higher than the lowest layer of the package."""
    modules = {i.source for i in imports} | {i.target for i in imports}
    problems = []
    for imp in imports:
        if not imp.eager or not imp.path.endswith("__init__.py"):
            continue
        inside = [layer(m) for m in modules if m.startswith(imp.source + ".") and layer(m) is not None]
        theirs = layer(imp.target)
        if inside and theirs is not None and theirs > min(inside):
            lowest = min(
                sorted(m for m in modules if m.startswith(imp.source + ".")), key=lambda m: layer(m) or 0
            )
            problems.append(
                f"{imp.where()}: {imp.path} imports {imp.target} ({_named(theirs)}) at import time, but importing "
                f"{lowest} ({_named(min(inside))}) runs {imp.path} first; import it on first use instead"
            )
    return problems


def simulator_imports(imports: list[Import]) -> list[str]:
    return [
        f"{imp.where()}: {imp.source} imports {imp.target}; only envkit.backends may import a simulator"
        for imp in imports
        if imp.target in SIMULATORS and not imp.source.startswith("envkit.backends")
    ]


def import_cycles(imports: list[Import]) -> list[str]:
    """Every cycle among the project's modules, as 'a.py:line -> b.py:line -> a.py' (one per group)."""
    modules = {i.source for i in imports}
    edges: dict[str, dict[str, Import]] = {m: {} for m in modules}
    for imp in imports:
        if imp.target in modules:
            edges[imp.source].setdefault(imp.target, imp)
    # Tarjan's strongly connected components; a component of 2+ modules holds a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return [_describe_cycle(sorted(g), edges) for g in sorted(groups)]


def _describe_cycle(group: list[str], edges: dict[str, dict[str, Import]]) -> str:
    """The modules that import each other in a circle, with the file and line of every import between them."""
    members = set(group)
    steps = [
        f"{imp.where()} imports {target}"
        for module in group
        for target, imp in sorted(edges[module].items())
        if target in members
    ]
    return f"import cycle between {', '.join(group)}: " + "; ".join(steps)


# ----------------------------------------------------------------------------- the real tree

IMPORTS = imports_of(read_tree())


def _is_agents(problem: str) -> bool:
    return problem.startswith("agents/")


def test_the_tree_is_read() -> None:
    sources = {i.source for i in IMPORTS}
    assert {
        "envkit.env",
        "envkit.context",
        "rewards.registry",
        "envkit.analysis.lint",
        "sweeps.launch",
    } <= sources
    assert all(layer(m) is not None for m in sources), [m for m in sources if layer(m) is None]


def test_no_lower_layer_imports_a_higher_one() -> None:
    problems = [p for p in upward_imports(IMPORTS) if not _is_agents(p)]
    assert problems == [], "\n".join(problems)


def test_agents_import_nothing_of_envkit_rewards_or_sweeps() -> None:
    problems = [p for p in upward_imports(IMPORTS) if _is_agents(p)]
    assert problems == [], "\n".join(problems)


def test_package_inits_import_at_import_time_only_what_their_lowest_module_may() -> None:
    problems = eager_imports_in_package_inits(IMPORTS)
    assert problems == [], "\n".join(problems)


def test_only_the_backends_import_a_simulator() -> None:
    problems = simulator_imports(IMPORTS)
    assert problems == [], "\n".join(problems)
    assert any(i.source.startswith("envkit.backends") and i.target == "pybullet" for i in IMPORTS)


def test_agents_envs_imports_no_simulator() -> None:
    problems = [p for p in simulator_imports(IMPORTS) if p.startswith("agents/envs.py:")]
    assert problems == [], "\n".join(problems)


def test_no_import_cycle_anywhere() -> None:
    cycles = import_cycles(IMPORTS)
    assert cycles == [], "\n".join(cycles)


# ----------------------------------------------------------------------------- the checker fails on what it must

#: Each cycle issue 15 found, reduced to the imports that made it (as the code had them).
ISSUE_CYCLES = {
    "env -> loader -> registry -> env": {
        "envkit/env.py": "from envkit.loader import load_scene\n",
        "envkit/loader.py": "def load_scene(scene):\n    from envkit.registry import resolve_scene_path\n",
        "envkit/registry.py": "def make(scene):\n    from envkit.env import SceneEnv\n",
    },
    "spec <-> fixtures": {
        "envkit/spec.py": "def check_scene(spec):\n    from envkit.fixtures import check_fixtures\n",
        "envkit/fixtures.py": "from envkit.spec import FixtureSpec, SceneSpec, ToolSpec\n",
    },
    "base <-> bullet <-> bullet_camera": {
        "envkit/backends/base.py": "def make_world(spec):\n    from envkit.backends.bullet import BulletWorld\n",
        "envkit/backends/bullet.py": (
            "from envkit.backends.base import World\n"
            "def camera():\n    from envkit.backends.bullet_camera import BulletCamera\n"
        ),
        "envkit/backends/bullet_camera.py": "from envkit.backends.bullet import p\n",
    },
    "summary <-> trial": {
        "sweeps/summary.py": "def summarize(d):\n    from sweeps.trial import read_json\n",
        "sweeps/trial.py": "from sweeps.summary import summarize\n",
    },
}

#: Package-level: rewards (layer 1) importing the env or the agents, as rewards/probe.py did.
ISSUE_UPWARD = {
    "rewards imports envkit.env": {
        "rewards/probe.py": "def run_probe(scene):\n    from envkit.env import SceneEnv\n",
        "envkit/env.py": "from rewards.registry import build_reward\n",
        "rewards/registry.py": "from envkit.context import StepContext\n",
        "envkit/context.py": "",
    },
    "rewards imports agents": {
        "rewards/probe.py": "def checkpoint_policy(path):\n    from agents.api import load_policy\n",
        "agents/api.py": "",
    },
    "the spec imports the env": {"envkit/spec.py": "import envkit.env\n", "envkit/env.py": ""},
    "a backend imports the analysis": {
        "envkit/backends/bullet.py": "from envkit.analysis.lint import lint_scene\n",
        "envkit/analysis/lint.py": "",
    },
}


@pytest.mark.parametrize("name", ISSUE_CYCLES)
def test_the_checker_finds_each_cycle_of_the_issue(name: str) -> None:
    tree = ISSUE_CYCLES[name]
    cycles = import_cycles(imports_of(tree))
    assert len(cycles) == 1, cycles
    for path in tree:
        assert path in cycles[0]  # the message names every file of the cycle and its import line


@pytest.mark.parametrize("name", ISSUE_UPWARD)
def test_the_checker_finds_each_upward_import(name: str) -> None:
    tree = ISSUE_UPWARD[name]
    problems = upward_imports(imports_of(tree))
    assert len(problems) == 1, problems
    offender = next(iter(tree))
    assert problems[0].startswith(f"{offender}:") and "a higher layer" in problems[0]


def test_the_checker_finds_a_simulator_outside_the_backends_and_an_eager_package_import() -> None:
    tree = {
        "envkit/__init__.py": "from envkit.registry import make\n",
        "envkit/registry.py": "",
        "envkit/context.py": "",
        "envkit/camera.py": "import pybullet as p\n",
        "agents/envs.py": "import importlib\ndef f():\n    importlib.import_module('panda_gym')\n",
        "envkit/backends/bullet.py": "import pybullet as p\n",
    }
    imports = imports_of(tree)
    assert [p.split(":")[0] for p in simulator_imports(imports)] == ["envkit/camera.py", "agents/envs.py"]
    (eager,) = eager_imports_in_package_inits(imports)
    assert eager.startswith(
        "envkit/__init__.py:1: envkit/__init__.py imports envkit.registry (layer 3 (env))"
    )


def test_the_checker_ignores_typing_only_imports_and_counts_lazy_ones() -> None:
    tree = {
        "rewards/terms.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from envkit.env import SceneEnv\n"
            "def f():\n    from envkit.context import StepContext\n"
        ),
        "envkit/env.py": "",
        "envkit/context.py": "",
    }
    (imp,) = [i for i in imports_of(tree) if i.target.startswith("envkit")]
    assert imp.target == "envkit.context" and not imp.eager
    assert upward_imports(imports_of(tree)) == []


def test_architecture_doc_names_every_module_and_layer() -> None:
    """docs/architecture.md shows the layers this test enforces and names every envkit and rewards module."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for n, name in enumerate(LAYER_NAMES):
        assert f"{n}  {name}" in doc, f"layer {n} ({name}) is missing from the diagram"
    missing = [
        path
        for path in read_tree()
        if path.startswith(("envkit/", "rewards/"))
        and not path.startswith("envkit/commands/")
        and Path(path).name != "__init__.py"
        and Path(path).name not in doc
    ]
    assert missing == [], f"docs/architecture.md does not mention {missing}"
