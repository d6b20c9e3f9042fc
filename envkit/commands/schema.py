"""`envkit schema`: the JSON schema of scene files (for editors and documentation)."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schema",
        help="print the JSON schema of scene files",
        description="Print the JSON schema of scene YAML files, with defaults and descriptions.",
    )
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from envkit.spec import SceneSpec

    text = json.dumps(SceneSpec.model_json_schema(), indent=2)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0
