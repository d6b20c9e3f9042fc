"""`envkit list`: the bundled scenes and their ids."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "list", help="list the bundled scenes", description="List the bundled scenes and their gymnasium ids."
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from envkit.commands._common import console
    from envkit.loader import load_scene
    from envkit.observations import build_obs_terms, make_layout
    from envkit.registry import bundled_scenes, scene_id

    table = Table(title="bundled scenes (gymnasium.make(id) after `import envkit`)")
    for col in ("id", "objects", "bins", "goal", "obs", "action", "max steps", "reward"):
        table.add_column(col, overflow="fold", no_wrap=col == "id")
    descriptions = []
    for name, path in bundled_scenes().items():
        spec = load_scene(path)
        layout = make_layout(build_obs_terms(spec, spec.observation.state))
        n_obs = max((s.stop for s in layout.values()), default=0)
        n_act = (3 if spec.robot.control == "ee" else 7) + int(spec.robot.gripper)
        reward = spec.reward.preset or f"{len(spec.reward.terms)} terms"
        table.add_row(
            scene_id(name),
            str(spec.objects.n),
            str(len(spec.bins)),
            "yes" if spec.goal else "-",
            str(n_obs),
            str(n_act),
            str(spec.episode.max_steps),
            reward,
        )
        descriptions.append(f"{scene_id(name)}: {spec.description}")
    out = console()
    out.print(table)
    for line in descriptions:
        out.print(line)
    return 0
