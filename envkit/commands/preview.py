"""`envkit preview FILE -o scene.png`: render a scene after a reset, to check the layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from envkit.commands._common import add_set_option, parse_sets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preview",
        help="render a scene after a reset to a PNG",
        description="Reset a scene and save an image of it, so you can check the layout before training.",
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
    finally:
        env.close()
    iio.imwrite(out, image)
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]}, seed {args.seed})")
    return 0
