"""Fixture geometry: the hole block's boxes, hole size and goal point, without a simulator."""

from __future__ import annotations

import numpy as np
import pytest

from envkit.fixtures import bottom_thickness, goal_point, hole_block_boxes, hole_width, tip_in_hole
from envkit.spec import FixtureSpec, ToolSpec


def _block(**kw) -> FixtureSpec:
    return FixtureSpec(name="block", size=(0.12, 0.10, 0.05), **kw)


def test_hole_is_tool_width_plus_clearance() -> None:
    tool = ToolSpec(half_extents=(0.0125, 0.0125, 0.04))
    f = _block(hole={"clearance": 0.004, "depth": 0.04})
    assert hole_width(f, tool) == pytest.approx(0.029)
    assert bottom_thickness(f) == pytest.approx(0.01)
    np.testing.assert_allclose(goal_point(f, np.array([0.1, -0.2, 0.0])), [0.1, -0.2, 0.01])


def test_boxes_tile_the_block_around_the_hole() -> None:
    tool = ToolSpec(half_extents=(0.0125, 0.0125, 0.04))
    f = _block(hole={"clearance": 0.004, "depth": 0.04})
    boxes = hole_block_boxes(f, tool)
    assert len(boxes) == 5  # four walls and the bottom plug
    volume = sum(8 * np.prod(b.half_extents) for b in boxes)
    w = hole_width(f, tool)
    expected = 0.12 * 0.10 * 0.05 - w * w * 0.04  # the block minus the hole
    assert volume == pytest.approx(expected)
    for b in boxes:  # everything inside the block's outline, from the table top up
        lo = np.subtract(b.center, b.half_extents)
        hi = np.add(b.center, b.half_extents)
        assert np.all(lo >= [-0.06 - 1e-12, -0.05 - 1e-12, -1e-12]) and np.all(
            hi <= [0.06, 0.05, 0.05 + 1e-12]
        )


def test_through_hole_has_no_plug() -> None:
    f = _block(hole={"clearance": 0.004, "depth": 0.05})
    assert len(hole_block_boxes(f, ToolSpec())) == 4 and bottom_thickness(f) == 0.0


def test_tip_in_hole() -> None:
    tool = ToolSpec(half_extents=(0.0125, 0.0125, 0.04))
    f = _block(hole={"clearance": 0.004, "depth": 0.04})
    base = np.array([0.0, 0.0, 0.0])
    # 25 mm peg in a 29 mm hole, block 50 mm high: the tip's centre must be over the 29 mm square
    assert tip_in_hole(f, tool, base, np.array([0.01, -0.01, 0.03]))
    assert tip_in_hole(f, tool, base, np.array([0.014, 0.0, 0.0505]))  # resting on the rim, just above the top
    assert not tip_in_hole(f, tool, base, np.array([0.0, 0.0, 0.052]))  # above the block
    assert not tip_in_hole(f, tool, base, np.array([0.0155, 0.0, 0.0505]))  # on the top beside the hole
    assert not tip_in_hole(f, tool, base, np.array([0.02, 0.0, 0.03]))  # inside the wall's footprint
