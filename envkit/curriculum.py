"""Where one env is in its scene's curriculum, and when it moves on.

Promotion is per env: each env keeps a window of its own finished training episodes'
success in the current stage, so the envs of a vector env move on independently (one
that got lucky does not drag the others along, and no process has to talk to another).
A promotion takes effect at the next reset, never mid-episode, so an episode is played
in one stage from start to end. In evaluation mode the env plays the last stage (the
full task) and records nothing, so measuring a policy never changes how it is trained.
A pinned stage (`pin`, used to record demonstrations of every stage) overrides both and
likewise records nothing.
"""

from __future__ import annotations

from collections import deque

from envkit.spec import CurriculumSpec


class Curriculum:
    """The stage of one env and the success window that decides its promotion."""

    def __init__(self, spec: CurriculumSpec) -> None:
        self.spec = spec
        self.training_stage = 0
        self.evaluation = False
        self._window: deque[bool] = deque(maxlen=spec.window)
        self._promote = False
        self.pinned: int | None = None
        """A stage played regardless of training or evaluation mode, without promotion (see pin)."""

    @property
    def last(self) -> int:
        return len(self.spec.stages) - 1

    @property
    def stage(self) -> int:
        """The stage episodes are played in now (the pinned one, else the last one in evaluation mode)."""
        if self.pinned is not None:
            return self.pinned
        return self.last if self.evaluation else self.training_stage

    @property
    def objects_count(self) -> int | None:
        """Objects in play in this stage; None: the scene's count."""
        return self.spec.stages[self.stage].objects_count

    @property
    def reach_height(self) -> tuple[float, float] | None:
        """Where this stage's reach starts open the hand; None: the scene's episode.reach_height."""
        return self.spec.stages[self.stage].reach_height

    @property
    def success_rate(self) -> float | None:
        """Mean success of the window so far (None before any episode of this stage ended)."""
        return sum(self._window) / len(self._window) if self._window else None

    def set_stage(self, stage: int) -> None:
        """Jump to a training stage (tests, or continuing a curriculum by hand); the window restarts."""
        if not 0 <= stage <= self.last:
            raise ValueError(f"curriculum stage must be in 0..{self.last}, got {stage}")
        self.training_stage = stage
        self._window.clear()
        self._promote = False

    def pin(self, stage: int | None) -> None:
        """Play `stage` from the next reset on, whatever the mode, and record nothing (None unpins).

        Demonstrations are recorded this way, stage by stage, so that the training stages'
        states are in them; the training stage and its window are left as they were."""
        if stage is not None and not 0 <= stage <= self.last:
            raise ValueError(f"curriculum stage must be in 0..{self.last}, got {stage}")
        self.pinned = stage

    def episode_end(self, success: bool) -> None:
        """Record a finished training episode; a full window at the next stage's threshold promotes."""
        if self.evaluation or self.pinned is not None or self.training_stage == self.last:
            return
        self._window.append(bool(success))
        threshold = self.spec.stages[self.training_stage + 1].after_success
        if len(self._window) == self._window.maxlen and threshold is not None:
            self._promote = sum(self._window) / len(self._window) >= threshold

    def on_reset(self) -> int:
        """Apply a pending promotion (at most one stage per reset) and return the stage to play."""
        if self._promote and not self.evaluation and self.pinned is None:
            self.set_stage(self.training_stage + 1)
        return self.stage
