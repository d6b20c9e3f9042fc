"""Scene YAML -> validated `SceneSpec`, with errors that name the file, line and field.

Why a custom loader: pydantic reports a field path (`objects.size.scale.0`) but a user
edits a file, so we keep the YAML node positions and translate each path back to a
line. Overrides (`objects.count=3`) are applied to the raw data before validation
so they are checked exactly like the file's own values.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from envkit.checks import check_scene
from envkit.errors import SpecError
from envkit.scenes import resolve_scene_path
from envkit.spec import SceneSpec

Loc = tuple[str | int, ...]


def _positions(node: yaml.Node, path: Loc = (), out: dict[Loc, int] | None = None) -> dict[Loc, int]:
    """Map every key path in a composed YAML tree to its 1-based line."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _positions(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _positions(item, path + (i,), out)
    return out


def read_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Parse a YAML file; syntax errors name the file, line and column."""
    if not path.exists():
        raise SpecError(
            f"{path}: no such file. Check the path, or run `envkit list` for the bundled scenes "
            "(use them as envkit/<name>-v0 or by name)."
        )
    if path.is_dir():
        raise SpecError(f"{path}: is a directory, expected a scene YAML file")
    text = _read_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise SpecError(
            f"{path}, {where}: YAML syntax error: {detail}. Check indentation, colons and brackets there."
        ) from None
    if node is None:
        return data, {}
    duplicates = _duplicate_keys(node)
    if duplicates:
        paragraphs = [
            f"{path}, line {line}: {format_loc(loc)}: duplicate key '{loc[-1]}' (also on line {first}); "
            "YAML would silently keep only the last one. Remove or rename one of them."
            for loc, first, line in duplicates
        ]
        n = len(paragraphs)
        head = f"{path}: {n} duplicate keys:\n" if n > 1 else ""
        raise SpecError(head + "\n".join(paragraphs))
    return data, _positions(node)


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; an unreadable or non-UTF-8 file is a SpecError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raw = path.read_bytes()
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            f"{path}, line {line}, column {column}: the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}). "
            "Save it as UTF-8 in your editor, or check that this is the scene file you meant."
        ) from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the file ({exc.strerror}); check its permissions.") from None


def _duplicate_keys(
    node: yaml.Node, path: Loc = (), out: list[tuple[Loc, int, int]] | None = None
) -> list[tuple[Loc, int, int]]:
    """(key path, first line, repeated line) of every key given twice in one mapping.

    PyYAML keeps the last value without a word, so `weight: 1` then `weight: 5`
    silently means 5; the user almost always meant one of them.
    """
    out = [] if out is None else out
    if isinstance(node, yaml.MappingNode):
        seen: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                key, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
                if key in seen:
                    out.append((path + (key_node.value,), seen[key], line))
                else:
                    seen[key] = line
            _duplicate_keys(value_node, path + (key_node.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicate_keys(item, path + (i,), out)
    return out


def parse_override_value(text: str) -> Any:
    """Command-line override values are YAML scalars/lists: `3`, `0.5`, `[1, 2]`, `true`, `cube`."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Set dotted keys (`objects.count`, `bins.0.position`) in a copy of the raw scene data."""
    import copy

    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        keys = dotted.replace("__", ".").split(".")
        node: Any = data
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise SpecError(
                        f"override '{dotted}': '{'.'.join(keys[:depth])}' is a list of {len(node)} item(s); "
                        f"'{key}' is not a valid index (0..{len(node) - 1})"
                    )
                if last:
                    node[int(key)] = value
                else:
                    node = node[int(key)]
            elif isinstance(node, dict):
                if last:
                    node[key] = value
                else:
                    if node.get(key) is None:
                        node[key] = {}
                    node = node[key]
            else:
                raise SpecError(
                    f"override '{dotted}': '{'.'.join(keys[:depth])}' in {source} is a value, not a section; "
                    "it has no key '" + key + "'"
                )
    return data


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    """Drop pydantic's internal union/function tags from an error location."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, int):
            out.append(part)
        elif (
            isinstance(part, str)
            and not any(ch in part for ch in "[](")
            and part not in ("str", "dict", "list")
        ):
            out.append(part)
    return tuple(out)


def format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _describe(err: dict[str, Any]) -> tuple[Loc, str]:
    loc = _clean_loc(err["loc"])
    kind = err["type"]
    msg = err["msg"]
    value = err.get("input")
    if kind == "value_error" and msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
        if msg.startswith("unknown key '"):
            key = msg.split("'")[1]
            loc = loc + (key,)
    elif kind == "missing":
        msg = "required field is missing; add it"
    elif kind == "finite_number":
        msg = f"must be a finite number, got {value!r} (.nan, .inf and literals beyond a float such as 1e400 are not)"
    elif kind in ("literal_error", "enum"):
        msg = f"{msg[0].lower()}{msg[1:]} (got {value!r})"
    elif kind.startswith(("greater", "less")):
        msg = f"{msg[0].lower()}{msg[1:]} (got {value!r})"
    elif kind in ("too_short", "too_long"):
        msg = f"{msg[0].lower()}{msg[1:]}"
    elif value is not None and not isinstance(value, dict | list):
        msg = f"{msg[0].lower()}{msg[1:]} (got {value!r})"
    else:
        msg = f"{msg[0].lower()}{msg[1:]}"
    return loc, msg


def as_written(loc: Loc, data: Any) -> Loc:
    """A model field path -> the same place as the user wrote it in the raw scene data.

    Shorthands make the two differ: `reward: [...]` is the model's `reward.terms`,
    `reward: sort_v1` its `reward.preset`, an observation term `ee` its `{term: ee}`.
    An error must name the path the user can find in the file (`reward[1].wieght`)
    and the line of that item, not of the section above it. Where the raw data holds
    a list the model reaches through a key, the key is dropped; where it holds a
    scalar, the model's keys below it are.
    """
    out: list[str | int] = []
    node = data
    for depth, part in enumerate(loc):
        if isinstance(node, list) and isinstance(part, str):
            continue  # the key a list shorthand stands for
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(node, dict | list):
            return tuple(out) + tuple(loc[depth:])  # a key or item the user did not write (missing)
        else:
            break  # a scalar written where the model has a mapping: the error is about that scalar
        out.append(part)
    return tuple(out)


def _raise(source: str, problems: list[tuple[Loc, str]], lines: dict[Loc, int], data: Any = None) -> None:
    paragraphs = []
    for model_loc, msg in problems:
        loc = as_written(model_loc, data) if data is not None else model_loc
        line = _line_of(loc, lines)
        where = f"{source}, line {line}" if line else source
        paragraphs.append(f"{where}: {format_loc(loc)}: {msg}")
    n = len(paragraphs)
    head = f"{source}: {n} problem{'s' if n != 1 else ''} in the scene spec:\n" if n > 1 else ""
    raise SpecError(head + "\n".join(paragraphs))


def validate_data(data: Any, source: str, lines: dict[Loc, int] | None = None) -> SceneSpec:
    """Validate raw scene data; raises one SpecError listing every problem found."""
    lines = lines or {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: a scene file must be a YAML mapping (key: value lines), got {type(data).__name__}"
        )
    try:
        spec = SceneSpec.model_validate(data)
    except ValidationError as exc:
        _raise(source, [_describe(e) for e in exc.errors()], lines, data)
        raise AssertionError("unreachable") from None
    from envkit.observations import check_observation
    from rewards.registry import check_reward_spec

    problems = check_scene(spec) + check_observation(spec) + check_reward_spec(spec)
    if problems:
        _raise(source, problems, lines, data)
    return spec


def load_scene(
    scene: str | Path | SceneSpec | Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> SceneSpec:
    """Load a scene from a bundled id/name, a YAML path, a dict or a spec, then apply overrides."""
    overrides = dict(overrides or {})
    if isinstance(scene, SceneSpec):
        if not overrides:
            return scene
        data, lines, source = scene.model_dump(mode="json"), {}, f"scene '{scene.name}'"
    elif isinstance(scene, Mapping):
        data, lines, source = dict(scene), {}, "scene dict"
    else:
        path = resolve_scene_path(scene)
        data, lines = read_yaml(path)
        source = str(path)
        if isinstance(data, dict) and "name" not in data:
            data["name"] = path.stem
    if overrides:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SpecError(f"{source}: a scene file must be a YAML mapping, got {type(data).__name__}")
        data = apply_overrides(data, overrides, source)
    return validate_data(data, source, lines)
