"""What reward terms, observation terms and termination rules read: one snapshot per step."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from envkit.spec import SceneSpec
from envkit.state import ObjectInstance, WorldState


@dataclass
class BinEvent:
    """An object touched a bin this step (fires once per object)."""

    object: int
    bin: int
    correct: bool


@dataclass
class StepEvents:
    """Events of one step. Each object fires at most one event per episode."""

    in_bin: list[BinEvent] = field(default_factory=list)
    on_floor: list[int] = field(default_factory=list)

    @property
    def n_correct(self) -> int:
        return sum(1 for e in self.in_bin if e.correct)

    @property
    def n_wrong(self) -> int:
        return sum(1 for e in self.in_bin if not e.correct)


@dataclass
class StepContext:
    """The state of one step as reward terms see it.

    At reset the env builds a context with `step == 0`, no action and no events,
    which stateful terms use to initialise themselves (e.g. the initial distance).
    """

    spec: SceneSpec
    state: WorldState
    objects: list[ObjectInstance]
    step: int
    action: np.ndarray | None = None
    events: StepEvents = field(default_factory=StepEvents)
    goal: np.ndarray | None = None  # (3,) goal position, when the scene has a goal
    achieved: np.ndarray | None = None  # (3,) the point that must reach the goal
    goal_distance: float | None = None
    prev_goal_distance: float | None = None
    initial_goal_distance: float | None = None
    success: bool = False
    first_success: bool = False  # success holds now and did not on any earlier step
    collision: bool = False  # a pair from episode.terminate_on.collisions touches
    terminated: bool = False  # the episode ends here for real (not a time limit)
    truncated: bool = False
    world: object | None = None  # the backend World, for terms that must query contacts
