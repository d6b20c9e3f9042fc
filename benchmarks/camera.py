"""Camera cost: frames/s per renderer and resolution, and env steps/s with and without a camera, in one run.

    python benchmarks/camera.py [--frames 60] [--steps 300] [--repeats 3]

Scene: envkit/peg_in_hole (fixed camera looking at the block, robot arm in view).
Renderers, from the plain baseline to envkit's default:
- plain Tiny: pybullet's Tiny renderer, stock Panda meshes (~102k faces), every body drawn;
- simple: the Panda drawn with its collision meshes (~3.4k faces);
- boxes: arm links as boxes, hand and fingers as collision meshes;
- boxes + static-layer cache: static bodies rendered once per reset, moving ones composited by depth
  (envkit's default for a fixed camera; pixel-identical to plain boxes);
- EGL: pybullet's eglRenderer plugin (Mesa llvmpipe here), boxes visuals, if it loads.
Steps/s: random actions through `gymnasium.make`, state-only vs camera variants of the
same scene (and the push scene), repeats interleaved so a noisy neighbour slows all alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from typing import Any

import gymnasium as gym
import numpy as np

RESOLUTIONS = [(84, 84), (128, 128), (320, 240)]
RENDERERS: list[tuple[str, dict[str, Any], bool]] = [
    ("plain Tiny (stock meshes)", {"robot.visual": "full"}, False),
    ("Tiny, simple visuals", {"robot.visual": "simple"}, False),
    ("Tiny, boxes visuals", {"robot.visual": "boxes"}, False),
    ("Tiny, boxes + static-layer cache (default)", {"robot.visual": "boxes"}, True),
    ("EGL plugin, boxes visuals", {"robot.visual": "boxes", "observation.camera.renderer": "egl"}, False),
]


def make(scene: str, overrides: dict[str, Any], optimize: bool = True) -> gym.Env:
    import envkit

    env = envkit.make(scene, overrides)
    camera = getattr(env.unwrapped.world, "camera", None)
    if camera is not None:
        camera.optimize = optimize
    return env


def frames_per_second(env: gym.Env, frames: int) -> float:
    """Render-only rate of the scene's camera (after one warm-up frame that prepares shortcuts)."""
    u = env.unwrapped
    state = u.world.read_state()
    view, proj = u.camera.matrices(state)
    w, h = u.camera.cam.width, u.camera.cam.height
    u.world.camera_image(view, proj, w, h, fixed=True)
    start = time.perf_counter()
    for _ in range(frames):
        u.world.camera_image(view, proj, w, h, fixed=True)
    return frames / (time.perf_counter() - start)


def steps_per_second(env: gym.Env, steps: int, seed: int) -> float:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):7.0f} ({min(values):.0f}-{max(values):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=60, help="frames per render measurement")
    parser.add_argument("--steps", type=int, default=300, help="env steps per throughput measurement")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import envkit  # noqa: F401  (registers envkit/*-v0)
    from envkit.backends.bullet import silence_stdout

    # ---------------------------------------------------------------- frames/s
    renders: dict[tuple[str, tuple[int, int]], list[float]] = {}
    envs: dict[tuple[str, tuple[int, int]], gym.Env] = {}
    unavailable: set[str] = set()
    with silence_stdout(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, overrides, optimize in RENDERERS:
            for w, h in RESOLUTIONS:
                o = dict(overrides, **{"observation.camera.width": w, "observation.camera.height": h})
                env = make("envkit/peg_in_hole-v0", o, optimize)
                if "egl" in name.lower() and env.unwrapped.world.camera.renderer != "egl":
                    unavailable.add(name)
                    env.close()
                    break
                env.reset(seed=0)
                envs[(name, (w, h))] = env
                renders[(name, (w, h))] = []
    with silence_stdout():
        for _ in range(args.repeats):
            for key, env in envs.items():
                frames = args.frames if "stock" not in key[0] else max(10, args.frames // 4)
                renders[key].append(frames_per_second(env, frames))
    for env in envs.values():
        env.close()

    # ---------------------------------------------------------------- steps/s
    pairs = [
        ("peg_in_hole, state", "envkit/peg_in_hole_state-v0", {}, True),
        ("peg_in_hole, 84x84 gray (default)", "envkit/peg_in_hole-v0", {}, True),
        ("peg_in_hole, 84x84 gray, plain Tiny", "envkit/peg_in_hole-v0", {"robot.visual": "full"}, False),
        ("peg_in_hole_320, 320x240 gray", "envkit/peg_in_hole_320-v0", {}, True),
        ("push, state", "envkit/push-v0", {}, True),
        ("push, 84x84 gray camera (default)", "envkit/push-v0", {"observation.mode": "camera"}, True),
        (
            "push, 84x84 gray camera, plain Tiny",
            "envkit/push-v0",
            {"observation.mode": "camera", "robot.visual": "full"},
            False,
        ),
    ]
    with silence_stdout():
        step_envs = {label: make(scene, o, opt) for label, scene, o, opt in pairs}
    rates: dict[str, list[float]] = {label: [] for label in step_envs}
    for r in range(args.repeats):
        for label, env in step_envs.items():
            n = args.steps if "plain" not in label else max(30, args.steps // 6)
            rates[label].append(steps_per_second(env, n, seed=r))
    for env in step_envs.values():
        env.close()

    # ---------------------------------------------------------------- report
    print(f"\nframes/s, envkit/peg_in_hole camera, median (min-max) of {args.repeats} repeats\n")
    print("| renderer | " + " | ".join(f"{w}x{h}" for w, h in RESOLUTIONS) + " | ms at 84x84 |")
    print("|---|" + "---|" * (len(RESOLUTIONS) + 1))
    for name, _, _ in RENDERERS:
        if name in unavailable:
            print(f"| {name} | " + " | ".join("unavailable" for _ in RESOLUTIONS) + " | - |")
            continue
        cells = [fmt(renders[(name, res)]) for res in RESOLUTIONS]
        ms = 1000 / statistics.median(renders[(name, RESOLUTIONS[0])])
        print(f"| {name} | " + " | ".join(cells) + f" | {ms:.1f} |")

    print(f"\nenv steps/s, random actions, median (min-max) of {args.repeats} repeats\n")
    print("| scene | steps/s | vs state |")
    print("|---|---|---|")
    for label in rates:
        base = "peg_in_hole, state" if label.startswith("peg") else "push, state"
        ratio = statistics.median(rates[label]) / statistics.median(rates[base])
        print(f"| {label} | {fmt(rates[label])} | {100 * ratio:.0f}% |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    from importlib.metadata import version

    print(
        f"\nnumpy {np.__version__}, gymnasium {gym.__version__}, pybullet {version('pybullet')}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end"
    )


if __name__ == "__main__":
    main()
