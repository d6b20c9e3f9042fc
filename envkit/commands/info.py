"""`envkit info FILE`: spaces, observation layout and reward terms of a scene."""

from __future__ import annotations

import argparse
import inspect

from envkit.commands._common import add_set_option, console, parse_sets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="show a scene's spaces, observation layout and reward terms",
        description="Show what an agent sees and is paid for in a scene, without starting the simulator.",
    )
    p.add_argument("file", metavar="FILE", help="scene YAML, bundled name or id")
    add_set_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from envkit.loader import load_scene
    from envkit.observations import build_obs_terms, make_layout
    from rewards.registry import expand_terms, resolve

    spec = load_scene(args.file, parse_sets(args.sets))
    out = console()
    terms = build_obs_terms(spec, spec.observation.state) if spec.observation.mode != "camera" else []
    layout = make_layout(terms)
    n_obs = max((s.stop for s in layout.values()), default=0)
    r = spec.robot
    n_act = (3 if r.control == "ee" else 7) + int(r.gripper)
    out.print(f"[bold]{spec.name}[/bold]: {spec.description}")
    cam = spec.observation.camera_spec
    state_box = f"Box({n_obs},) float32"
    if cam is None:
        out.print(f"observation: {state_box}, mode state")
    else:
        where = f"{cam.mount} camera, fov {cam.fov:g} deg"
        image = (
            f"Box(0, 255, ({cam.height}, {cam.width}, {cam.channels}), uint8): {where}, "
            f"{'gray' if cam.grayscale else 'RGB'}{f', {cam.stack} frames stacked' if cam.stack > 1 else ''}"
        )
        if spec.observation.mode == "camera":
            out.print(f"observation: {image}")
        else:
            out.print(f'observation: Dict("image": {image}; "state": {state_box})')
    act = "dx, dy, dz" if r.control == "ee" else "7 joint deltas"
    step = f"{r.ee_step} m" if r.control == "ee" else f"{r.joint_step} rad"
    out.print(
        f"action: Box({n_act},) in [-1, 1]: {act}{' + gripper' if r.gripper else ''} (x {step} per step)"
    )
    dt = spec.physics.timestep * spec.physics.substeps
    out.print(
        f"step: {spec.physics.substeps} substeps x {spec.physics.timestep:.4g} s = {dt:.3g} s; "
        f"time limit {spec.episode.max_steps} steps (truncation)"
    )
    t = spec.episode.terminate_on
    rules = [
        name
        for name, on in (
            ("all objects removed", t.all_objects_removed and spec.objects.n > 0),
            ("success", t.success),
            ("object off table", t.object_off_table),
        )
        if on
    ]
    if t.goal_distance_above is not None:
        rules.append(f"goal distance > {t.goal_distance_above} m")
    rules += [f"collision {a}-{b}" for a, b in t.collisions]
    out.print(
        f"terminates on: {', '.join(rules) or 'nothing (time limit only)'}; success means: {spec.success_mode}"
    )
    if spec.curriculum is not None:
        out.print(
            f"curriculum: {spec.curriculum.describe()} (per env; evaluation plays the last stage; objects "
            "beyond a stage's count read as zeros)",
            markup=False,
        )

    lt = Table(title="observation layout (env.unwrapped.obs_layout)")
    for col in ("slice", "name", "size"):
        lt.add_column(col, no_wrap=True)
    for name, sl in layout.items():
        lt.add_row(f"{sl.start}:{sl.stop}", name, str(sl.stop - sl.start))
    out.print(lt)

    rt = Table(
        title=f"reward{' (preset ' + spec.reward.preset + ')' if spec.reward.preset else ''}: sum of weight x term"
    )
    for col in ("label", "term", "weight", "params", "what it measures"):
        rt.add_column(col, overflow="fold", no_wrap=col in ("label", "term"))
    for term in expand_terms(spec.reward):
        doc = inspect.getdoc(resolve(term.term)) or ""
        rt.add_row(term.label, term.term, f"{term.weight:g}", str(term.params or ""), doc.split("\n")[0])
    out.print(rt)
    return 0
