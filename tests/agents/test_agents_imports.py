"""The agents' place in the layers (docs/architecture.md): they see only gymnasium, torch and
numpy. Read from the source with `ast` (every import, also inside functions, and every
`importlib.import_module("...")` of a literal name), and checked once in a fresh process."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "agents"
#: Higher layers (envkit's env and CLI, the reward analysis, the sweeps) and the simulators.
FORBIDDEN = {"envkit", "rewards", "sweeps", "pybullet", "pybullet_data", "panda_gym"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from agents import ppo` imports the module agents.ppo
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                      if (AGENTS / f"{alias.name}.py").is_file() and node.module == "agents"]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def test_agents_import_nothing_from_higher_layers_or_simulators():
    bad = [f"agents/{path.name}:{line} imports {name}"
           for path in sorted(AGENTS.glob("*.py"))
           for line, name in imports_of(path)
           if name.split(".")[0] in FORBIDDEN]
    assert not bad, bad


def test_no_import_cycle_between_agents_modules():
    graph = {path.stem: {name.split(".")[1] for _, name in imports_of(path)
                         if name.startswith("agents.") and (AGENTS / f"{name.split('.')[1]}.py").is_file()}
             for path in AGENTS.glob("*.py") if path.stem != "__init__"}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for dep in sorted(graph[module] - {module}):
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep] if dep in path else [*path, dep]
            if dep not in state and (cycle := visit(dep, [*path, dep])):
                return cycle
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [module])
            assert cycle is None, " -> ".join(cycle)


def test_training_code_loads_no_higher_layer_and_the_errors_load_no_torch():
    """In a fresh process: every agents module together pulls in no envkit/rewards/sweeps module
    and no simulator, and `agents.errors` (what envkit's CLI catches) loads without torch."""
    code = (
        "import json, sys\n"
        "import agents.errors\n"
        "light = 'torch' not in sys.modules\n"
        "import agents.api, agents.ppo, agents.td3, agents.checkpoint, agents.envs\n"
        "print(json.dumps([light, sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, *FORBIDDEN], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    light, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert light, "importing agents.errors imported torch"
    assert loaded == [], loaded
