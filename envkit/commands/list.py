"""`envkit list`: the bundled scenes and their ids."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envkit.spec import SceneSpec


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "list", help="list the bundled scenes", description="List the bundled scenes and their gymnasium ids."
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from envkit.commands._common import console
    from envkit.loader import load_scene
    from envkit.registry import bundled_scenes, scene_id

    table = Table(title="bundled scenes (gymnasium.make(id) after `import envkit`)")
    for col in ("id", "objects", "bins", "goal", "obs", "action", "max steps", "reward"):
        table.add_column(col, overflow="fold", no_wrap=col == "id")
    descriptions = []
    for name, path in bundled_scenes().items():
        spec = load_scene(path)
        n_act = (3 if spec.robot.control == "ee" else 7) + int(spec.robot.gripper)
        reward = spec.reward.preset or f"{len(spec.reward.terms)} terms"
        table.add_row(
            scene_id(name),
            str(spec.objects.n),
            str(len(spec.bins)),
            "yes" if spec.goal else "-",
            observation_summary(spec),
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


def observation_summary(spec: SceneSpec) -> str:
    """What the agent sees, in a table cell: `31` values, `84x84x1 image`, or `84x84x1 image + 13`.

    A camera scene's state terms are not observed, so their size alone (what this
    column showed) misdescribed it; the image shape is height x width x channels,
    as the observation space has it.
    """
    from envkit.observations import build_obs_terms, make_layout

    cam = spec.observation.camera_spec
    state = ""
    if spec.observation.mode != "camera":
        layout = make_layout(build_obs_terms(spec, spec.observation.state))
        state = str(max((sl.stop for sl in layout.values()), default=0))
    if cam is None:
        return state
    image = f"{cam.height}x{cam.width}x{cam.channels} image"
    return f"{image} + {state}" if state else image
