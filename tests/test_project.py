"""The README's promises about the project itself: CI runs exactly its test command, and every
command it lists exists."""

from __future__ import annotations

import re
from pathlib import Path

from envkit.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[list[str]]:
    return [[ln for ln in b.strip().splitlines() if ln] for b in re.findall(r"```bash\n(.*?)```", text, re.S)]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**2. Install and run the tests**"):]
    commands = _bash_blocks(section)[0]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands and all(line in ci for line in commands), (commands, ci)
    assert ci[-1] == commands[-1]  # the tests are the last thing CI runs


def test_readme_main_command_is_a_bundled_sweep() -> None:
    readme = (ROOT / "README.md").read_text()
    main = _bash_blocks(readme[readme.index("**1. Install and run the main job**"):])[0]
    assert main[-1] == "envkit sweep experiment=quickstart"
    assert (ROOT / "sweeps" / "conf" / "experiment" / "quickstart.yaml").is_file()


def test_every_command_in_the_readme_table_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Command line"):]
    listed = set(re.findall(r"^\| `envkit (\w+)", table, re.M))
    parser = build_parser()
    available = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert listed and listed <= available, listed - available
