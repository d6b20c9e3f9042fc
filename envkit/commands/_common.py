"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import re
from typing import Any

from envkit.errors import ConfigError, EnvkitError, SpecError

#: A gymnasium id: optional namespace, name, version (`Pendulum-v1`, `ALE/Pong-v5`).
GYM_ID = re.compile(r"^([\w.-]+/)?[\w.-]+-v\d+$")


def add_set_option(parser: argparse.ArgumentParser, what: str = "scene") -> None:
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a {what} field with a dotted key, e.g. objects.count=3 (repeatable)",
    )


#: One option of a command that takes Hydra overrides: (flag, add_argument keywords).
Flag = tuple[str, dict[str, Any]]


def add_override_flags(parser: argparse.ArgumentParser, flags: list[Flag], example: str) -> None:
    """The positional Hydra overrides and the command's options, declared once.

    Why: argparse puts every option written after the first override into the
    REMAINDER, so `envkit sweep reward=a,b --dry-run` would pass `--dry-run` to Hydra.
    `split_override_flags` parses those late options with the same declarations.
    """
    parser.add_argument("overrides", nargs=argparse.REMAINDER, metavar="KEY=VALUE",
                        help=f"Hydra overrides, e.g. {example}; the options below may come before or after them")
    for flag, kwargs in flags:
        parser.add_argument(flag, **kwargs)


def split_override_flags(args: argparse.Namespace, flags: list[Flag]) -> tuple[argparse.Namespace, list[str]]:
    """(options, overrides): options given before the overrides or among them, merged.

    An unknown `-x` among the overrides is a clear error listing the options, not a
    Hydra parse failure.
    """
    late_parser = argparse.ArgumentParser(add_help=False)
    for flag, kwargs in flags:
        late_parser.add_argument(flag, **{k: v for k, v in kwargs.items() if k in ("action", "type", "dest")})
    late, overrides = late_parser.parse_known_args(args.overrides)
    unknown = [o for o in overrides if o.startswith("-")]
    if unknown:
        names = ", ".join(f + ("" if kw.get("action") == "store_true" else f" {kw.get('metavar', 'X')}")
                          for f, kw in flags)
        raise ConfigError(f"unknown option(s) {' '.join(unknown)}. Options: {names}; everything else is a "
                          "Hydra override KEY=VALUE.")
    merged = argparse.Namespace()
    for flag, kwargs in flags:
        dest = kwargs.get("dest", flag.lstrip("-").replace("-", "_"))
        early, later = getattr(args, dest), getattr(late, dest)
        if kwargs.get("action") == "store_true":
            setattr(merged, dest, bool(early or later))
        else:
            setattr(merged, dest, later if later is not None else early)
    return merged, overrides


def parse_sets(items: list[str]) -> dict[str, Any]:
    """`key=value` strings -> dict; values are parsed as YAML scalars or lists."""
    from envkit.loader import parse_override_value

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise EnvkitError(f"--set expects KEY=VALUE (e.g. objects.count=3), got '{item}'")
        out[key.strip()] = parse_override_value(value)
    return out


def console(**options: Any):  # noqa: ANN201 - rich is imported lazily to keep `envkit --help` fast
    """The rich console commands print through (`options` go to `rich.console.Console`).

    Off a terminal (a pipe, a file, CI logs) rich would wrap every line at 80
    columns, splitting the paths and field names of error messages so they can be
    neither read nor grepped: there text is not wrapped, and tables get 120 columns.
    """
    from rich.console import Console

    out = Console(highlight=False, **options)
    if not out.is_terminal:
        out.soft_wrap = True
        out.width = max(out.width, 120)
    return out


def env_argument(text: str) -> str:
    """The scene or env a command was given, in the form the agents build it from.

    The agents send `envkit/...` ids and `.yaml` paths to `envkit.make` and anything
    else to `gymnasium.make`, so a bare scene name (`reach`), which validate, info,
    lint and probe accept through `resolve_scene_path`, reached gymnasium ("Environment
    `reach` doesn't exist"). The same resolver decides here: a bundled scene becomes
    its id, a scene file stays a path (checked now, before anything is built), and
    gymnasium ids pass through. An unknown name gets the resolver's did-you-mean.
    """
    import gymnasium as gym

    from envkit.loader import load_scene
    from envkit.registry import NAMESPACE, bundled_scenes, resolve_scene_path, scene_id

    if text in gym.registry or ":" in text:
        return text  # a registered gymnasium id (bundled scenes included), or gymnasium's module:Env-vN
    try:
        path = resolve_scene_path(text)
    except SpecError as exc:
        if text.startswith(f"{NAMESPACE}/"):
            raise
        if GYM_ID.match(text):
            return text  # a gymnasium id registered on import (panda-gym's), or gymnasium says what is wrong
        raise ConfigError(f"{exc} Or give a gymnasium env id, e.g. Pendulum-v1.") from None
    bundled = bundled_scenes()
    if bundled.get(path.stem) == path:
        return scene_id(path.stem)
    load_scene(path)
    if path.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"{text}: name scene files *.yaml or *.yml to train or evaluate on them.")
    return text
