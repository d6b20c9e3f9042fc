"""When a step succeeds and when an episode ends for real: the scene's success and termination rules.

Success is `episode.success` resolved (`goal_reached`: the achieved point within
the goal's threshold; `all_sorted`: every object in a correct bin). Terminations
are `episode.terminate_on`: all objects removed, success, too far from the goal, a
listed collision, an object off its table. The time limit is not here: it
truncates, and the env decides it.

The peg insertion rule: with `insertion_contact: allowed`, a listed tool-fixture
pair touching while the tool's tip is in that fixture's hole is not a collision,
so an almost aligned peg jams (costing time) instead of ending the episode.
"""

from __future__ import annotations

import numpy as np

from envkit.backends.base import World
from envkit.fixtures import tip_in_hole
from envkit.spec import SceneSpec
from envkit.state import WorldState


class EpisodeRules:
    """A scene's goal measure, success and termination rules, built once per env."""

    def __init__(self, spec: SceneSpec) -> None:
        self.spec = spec
        self.n_objects = spec.objects.n
        #: Objects in play this episode (fewer in an early curriculum stage); all_sorted needs all of them.
        self.in_play = self.n_objects
        self._table_top = (spec.table(spec.objects.spawn.table) if self.n_objects else spec.tables[0]).top
        self._achieved_object = spec.goal.achieved_object if spec.goal is not None else None
        self._achieved_tool = spec.goal is not None and spec.goal.achieved == "tool_tip"
        self._success_mode = spec.success_mode
        self._collision_pairs = [(a, b, self._hole_of(a, b)) for a, b in spec.episode.terminate_on.collisions]

    # ------------------------------------------------------------------ goal and success

    def goal_distance(
        self, state: WorldState, goal: np.ndarray | None
    ) -> tuple[np.ndarray | None, float | None]:
        """(achieved point, its distance to the goal), or (None, None) without a goal."""
        if goal is None:
            return None, None
        if self._achieved_object is not None:
            achieved = state.object_position[self._achieved_object]
        elif self._achieved_tool:
            achieved = state.tool_tip
        else:
            achieved = state.ee_position
        return achieved, float(np.linalg.norm(achieved - goal))

    def is_success(self, goal_distance: float | None, sorted_count: int) -> bool:
        mode = self._success_mode
        if mode == "goal_reached":
            return goal_distance is not None and goal_distance < self.spec.goal.threshold  # type: ignore[union-attr]
        if mode == "all_sorted":
            return sorted_count == self.in_play
        return False

    # ------------------------------------------------------------------ termination

    def collision(self, state: WorldState, world: World, fixtures: dict[str, np.ndarray]) -> bool:
        """Whether a pair in episode.terminate_on.collisions touches (the insertion rule applied)."""
        if not self._collision_pairs:
            return False
        return any(self._collides(a, b, hole, state, world, fixtures) for a, b, hole in self._collision_pairs)

    def terminated(
        self, state: WorldState, success: bool, goal_distance: float | None, collision: bool
    ) -> bool:
        """Whether the episode ends here for real (the time limit is a truncation, decided apart)."""
        rules = self.spec.episode.terminate_on
        return bool(
            (rules.all_objects_removed and self.n_objects > 0 and not state.object_active.any())
            or (rules.success and success)
            or (
                rules.goal_distance_above is not None
                and goal_distance is not None
                and goal_distance > rules.goal_distance_above
            )
            or collision
            or (rules.object_off_table and self._object_off_table(state))
        )

    def _object_off_table(self, state: WorldState) -> bool:
        return bool(np.any(state.object_active & (state.object_position[:, 2] < self._table_top)))

    # ------------------------------------------------------------------ the peg insertion rule

    def _hole_of(self, a: str, b: str) -> str | None:
        """The fixture of a tool-fixture pair whose in-hole contacts are allowed, else None."""
        spec = self.spec
        if spec.tool is None or spec.episode.terminate_on.insertion_contact != "allowed":
            return None
        fixtures = {f.name for f in spec.fixtures}
        if a == spec.tool.name and b in fixtures:
            return b
        if b == spec.tool.name and a in fixtures:
            return a
        return None

    def _collides(
        self,
        a: str,
        b: str,
        hole: str | None,
        state: WorldState,
        world: World,
        fixtures: dict[str, np.ndarray],
    ) -> bool:
        if hole is not None and state.tool_tip is not None:
            fixture = self.spec.fixture(hole)
            if tip_in_hole(fixture, self.spec.tool, fixtures[hole], state.tool_tip):
                return False
        return world.touching(a, b)
