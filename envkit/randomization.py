"""Reset-time draws added for fixtures and domain randomisation, all from the env's generator.

Each function draws a fixed number of values in a fixed order for a given spec,
and nothing when its section is absent, so a seed fixes the episode and adding
one randomisation never shifts the draws of scenes that do not use it. The env
calls them in the order documented on `RandomizeSpec`.
"""

from __future__ import annotations

import numpy as np

from envkit.spec import SceneSpec
from envkit.state import ObjectInstance


def sample_fixture_bases(spec: SceneSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Base position (x, y, table top) of every fixture this episode: nominal + U(range), 2 draws each."""
    bases = {}
    for f in spec.fixtures:
        dx = float(rng.uniform(*f.range.x))
        dy = float(rng.uniform(*f.range.y))
        top = spec.table(f.table).top
        bases[f.name] = np.array([f.position[0] + dx, f.position[1] + dy, top])
    return bases


def apply_object_dynamics(spec: SceneSpec, objects: list[ObjectInstance], rng: np.random.Generator) -> None:
    """Scale masses and draw frictions in place: per object, mass then lateral then spinning (if set)."""
    r = spec.randomize.objects
    if r.mass_scale is None and r.lateral_friction is None and r.spinning_friction is None:
        return
    for obj in objects:
        if r.mass_scale is not None:
            obj.mass = float(obj.mass * rng.uniform(*r.mass_scale))
        if r.lateral_friction is not None:
            obj.lateral_friction = float(rng.uniform(*r.lateral_friction))
        if r.spinning_friction is not None:
            obj.spinning_friction = float(rng.uniform(*r.spinning_friction))
