"""Which bin an object scores in when it touches two (issue 13, section 5), on real pybullet.

The bundled sorting bins touch along y (bin_sphere spans y in [-0.1, 0.1], bin_cube
[0.1, 0.3]): an object on the seam touches both. The bin is decided by where the
object's centre is, never by the order pybullet lists contacts or the spec lists bins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import envkit
from envkit.loader import load_scene

RADIUS = 0.02
SEAM_Y = 0.1  # between bin_sphere and bin_cube in the bundled sort scenes


def _sphere_scene(reverse_bins: bool = False) -> Any:
    """sort-1 with one sphere; bins only report (`on_contact: event`) so contacts can be checked after the step."""
    spec = load_scene("sort-1").model_dump(mode="json")
    spec["objects"]["items"] = [{"shape": "sphere", "half_extents": [RADIUS] * 3, "position": [-0.05, -0.2]}]
    for b in spec["bins"]:
        b["on_contact"] = "event"
    if reverse_bins:
        spec["bins"].reverse()
    return spec


def _land(env: Any, x: float, y: float) -> dict[str, int]:
    """Rest the sphere on the bins with its centre at (x, y); the events after one step."""
    env.reset(seed=0)
    top = max(b.position[2] + b.half_extents[2] for b in env.unwrapped.spec_scene.bins)
    env.unwrapped.teleport_object(0, [x, y, top + RADIUS + 0.0005], [0, 0, 0, 1])
    _, _, _, _, info = env.step(np.zeros(env.action_space.shape))
    return info["events"]


@pytest.mark.parametrize("reverse_bins", [False, True], ids=["spec-order", "reversed-bins"])
@pytest.mark.parametrize(
    ("offset", "expected"),
    [(-0.002, "sorted"), (0.002, "wrong_bin")],
    ids=["centre-over-bin_sphere", "centre-over-bin_cube"],
)
def test_object_on_a_seam_scores_in_the_bin_under_its_centre(
    offset: float, expected: str, reverse_bins: bool
) -> None:
    env = envkit.make(_sphere_scene(reverse_bins))
    try:
        events = _land(env, -0.25, SEAM_Y + offset)
        touched = env.unwrapped.world.object_contacts(0)
    finally:
        env.close()
    assert {"bin_sphere", "bin_cube"} <= touched, (
        "the sphere must touch both bins for this test to mean anything"
    )
    other = "wrong_bin" if expected == "sorted" else "sorted"
    assert events[expected] == 1 and events[other] == 0, events


def test_centre_over_no_bin_scores_in_the_touched_bin() -> None:
    """Just past bin_cube's far edge (y = 0.3) the sphere touches only that bin's rim."""
    env = envkit.make(_sphere_scene())
    try:
        events = _land(env, -0.25, 0.3 + 0.002)
        touched = env.unwrapped.world.object_contacts(0)
    finally:
        env.close()
    assert "bin_cube" in touched and "bin_sphere" not in touched
    assert events["wrong_bin"] == 1 and events["sorted"] == 0, events
