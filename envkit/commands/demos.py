"""`envkit demos SCENE --out FILE.npz`: record scripted grasp-and-carry demonstrations of a sorting scene."""

from __future__ import annotations

import argparse
from pathlib import Path

from envkit.commands._common import add_set_option, parse_sets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demos",
        help="record scripted demonstrations of a sorting scene to an .npz (for PPO's demos)",
        description=(
            "Play envkit's scripted grasp-and-carry controller (envkit.scripted) on a sorting scene and "
            "write the observation/action pairs of its successful episodes to an .npz of plain arrays, "
            "for `envkit train ... --set demos=FILE.npz` (PPO). Episode i uses seed SEED+i; keep the seeds "
            "away from the evaluation seeds (0, 1, ...) so that evaluation scenes are not demonstrated. "
            "`--set demos=scripted` records the same pairs at the start of training instead."
        ),
    )
    p.add_argument("file", metavar="SCENE", help="scene YAML, bundled name or id (a state-observation sorting scene)")
    p.add_argument("-o", "--out", required=True, help="the .npz file to write")
    p.add_argument("-n", "--episodes", type=int, default=200, help="episodes to play (default 200)")
    p.add_argument("--seed", type=int, default=10_000, help="seed of the first episode (default 10000)")
    p.add_argument("--keep", choices=("success", "all"), default="success",
                   help="keep the successful episodes only (default) or all of them")
    add_set_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from envkit.errors import EnvkitError
    from envkit.registry import make
    from envkit.scripted import record_demos, save_demos

    out = Path(args.out)
    if out.suffix != ".npz":
        raise EnvkitError(f"--out '{out}': use a file name ending in .npz")
    if not out.parent.exists():
        raise EnvkitError(f"--out '{out}': folder '{out.parent}' does not exist; create it first")
    if args.episodes < 1:
        raise EnvkitError(f"--episodes {args.episodes}: play at least one episode")
    env = make(args.file, parse_sets(args.sets))

    def progress(done: int, total: int, ok: int) -> None:
        if done % 20 == 0 or done == total:
            print(f"{done}/{total} episodes, {ok} succeeded", flush=True)

    try:
        demos = record_demos(env, args.episodes, seed=args.seed, keep=args.keep, progress=progress)
    finally:
        env.close()
    save_demos(demos, out)
    m = demos.meta
    print(f"wrote {out}: {len(demos.obs)} pairs from {m['kept']} of {m['episodes']} episodes "
          f"(controller success {m['success_rate']:.2f}, mean length {m['mean_length']:.0f} steps)")
    if m.get("curriculum_stages"):
        from agents.demos import stage_summary  # the line training prints, so both read the same

        print(f"  kept per curriculum stage: {stage_summary(m['curriculum_stages'])}")
    return 0
