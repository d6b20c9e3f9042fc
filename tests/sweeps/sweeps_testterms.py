"""A user reward term that crashes mid-training: the deliberately failing trial of the e2e tests."""

from __future__ import annotations

from rewards import RewardTerm


class ExplodeAfter(RewardTerm):
    """0 every step, until `steps` steps of one environment: then a RuntimeError."""

    def __init__(self, steps: int = 300) -> None:
        self.steps, self.calls = steps, 0

    def __call__(self, ctx) -> float:  # noqa: ANN001 - the StepContext
        self.calls += 1
        if self.calls > self.steps:
            raise RuntimeError(f"deliberate failure after {self.steps} steps")
        return 0.0
