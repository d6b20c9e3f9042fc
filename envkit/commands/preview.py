"""`envkit preview FILE -o scene.png`: render a scene after a reset, to check the layout.

For a scene with a camera observation, the camera's view (what the agent sees,
enlarged without smoothing so pixels stay visible) is placed right of the overview.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from envkit.commands._common import add_set_option, parse_sets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preview",
        help="render a scene after a reset to a PNG",
        description="Reset a scene and save an image of it, so you can check the layout before training. "
        "With a camera observation, the agent's view is shown next to the overview.",
    )
    p.add_argument("file", metavar="FILE", help="scene YAML, bundled name or id")
    p.add_argument("-o", "--output", default="scene.png", help="image file to write (default scene.png)")
    p.add_argument("--seed", type=int, default=0, help="reset seed (default 0)")
    p.add_argument("--width", type=int, default=None, help="image width (default: the scene's render.width)")
    p.add_argument(
        "--height", type=int, default=None, help="image height (default: the scene's render.height)"
    )
    add_set_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import imageio.v3 as iio

    from envkit.errors import EnvkitError
    from envkit.registry import make

    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise EnvkitError(f"--output '{out}': use a .png or .jpg file name")
    if not out.parent.exists():
        raise EnvkitError(f"--output '{out}': folder '{out.parent}' does not exist; create it first")
    env = make(args.file, parse_sets(args.sets))
    try:
        env.reset(seed=args.seed)
        image = env.render_image(args.width, args.height)
        camera = env.unwrapped.camera_view() if env.unwrapped.camera is not None else None
    finally:
        env.close()
    note = ""
    if camera is not None:
        image = side_by_side(image, camera)
        note = f"; overview + camera view {camera.shape[1]}x{camera.shape[0]}"
    iio.imwrite(out, image)
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]}, seed {args.seed}{note})")
    return 0


def side_by_side(overview: np.ndarray, camera: np.ndarray, gap: int = 8) -> np.ndarray:
    """The overview, then the camera view scaled by an integer factor (nearest) to fit its height."""
    h = overview.shape[0]
    k = max(1, h // camera.shape[0])
    big = np.repeat(np.repeat(camera, k, axis=0), k, axis=1)[:h]
    out = np.full((h, overview.shape[1] + gap + big.shape[1], 3), 255, dtype=np.uint8)
    out[:, : overview.shape[1]] = overview
    top = (h - big.shape[0]) // 2
    out[top : top + big.shape[0], overview.shape[1] + gap :] = big
    return out
