"""Which objects reached a bin or the floor this step, and what that does to them.

An object fires at most one bin event and one floor event per episode. A bin's
`on_contact: remove` and the floor's `removes_objects` take the object out of the
world; the episode's running counts (`sorted`, `wrong_bin`, `on_floor`, `removed`)
are what `info["events"]` reports.
"""

from __future__ import annotations

import numpy as np

from envkit.backends.base import World
from envkit.context import BinEvent, StepEvents
from envkit.spec import SceneSpec
from envkit.state import ObjectInstance, WorldState

#: The episode counts in `info["events"]`, in order.
EVENT_KEYS = ("sorted", "wrong_bin", "on_floor", "removed")


class EventDetector:
    """Bin and floor events of one env: built once from the spec, `reset` at every episode."""

    def __init__(self, spec: SceneSpec) -> None:
        self.spec = spec
        self.n_objects = spec.objects.n
        self._bin_index = {b.name: i for i, b in enumerate(spec.bins)}
        if spec.bins:
            self._bin_low = np.array([np.subtract(b.position, b.half_extents) for b in spec.bins])
            self._bin_high = np.array([np.add(b.position, b.half_extents) for b in spec.bins])
            self._bin_centre_xy = np.array([b.position[:2] for b in spec.bins], dtype=float)
        else:
            self._bin_low = self._bin_high = self._bin_centre_xy = None
        self.counts: dict[str, int] = dict.fromkeys(EVENT_KEYS, 0)
        self._objects: list[ObjectInstance] = []

    def reset(self, objects: list[ObjectInstance]) -> None:
        """A new episode with these objects: nothing has fired, every count is 0."""
        self._objects = objects
        self._bounding_radius = np.array([float(np.linalg.norm(o.half_extents)) for o in objects])
        self._fired_bin = np.zeros(self.n_objects, dtype=bool)
        self._fired_floor = np.zeros(self.n_objects, dtype=bool)
        self.counts = dict.fromkeys(EVENT_KEYS, 0)

    def detect(self, state: WorldState, world: World) -> StepEvents:
        """This step's events; removes the objects they take out (in `world` and `state`)."""
        events = StepEvents()
        if self.n_objects == 0:
            return events
        spec = self.spec
        near = self._near_bin_or_floor(state)
        for i in range(self.n_objects):
            if not near[i]:
                continue
            touched = world.object_contacts(i)
            if not touched:
                continue
            remove = False
            if not self._fired_bin[i]:
                b = self.scoring_bin(state.object_position[i], touched)
                if b is not None:
                    bin_spec = spec.bins[b]
                    correct = not bin_spec.accepts or self._objects[i].shape in bin_spec.accepts
                    events.in_bin.append(BinEvent(object=i, bin=b, correct=correct))
                    self._fired_bin[i] = True
                    self.counts["sorted" if correct else "wrong_bin"] += 1
                    remove = bin_spec.on_contact == "remove"
            if not remove and "floor" in touched and not self._fired_floor[i]:
                events.on_floor.append(i)
                self._fired_floor[i] = True
                self.counts["on_floor"] += 1
                remove = spec.floor.removes_objects
            if remove:
                world.remove_object(i)
                state.object_active[i] = False
                self.counts["removed"] += 1
        return events

    def scoring_bin(self, position: np.ndarray, touched: set[str]) -> int | None:
        """The bin an object scores in when it touches one or more bins, else None.

        Decided by where the object's centre is, so an object on the seam of two
        touching bins (the bundled sorting bins touch along y) scores the same
        whatever order pybullet lists contacts in or the spec lists bins in: the
        bin whose x/y region holds the centre; if the centre is over no bin, the
        touched bin whose x/y region is nearest to it. Ties (a centre exactly on a
        seam, or over overlapping bins) go to the bin whose centre is nearer, then
        to the name that sorts first.
        """
        hit = [self._bin_index[name] for name in touched if name in self._bin_index]
        if not hit:
            return None
        xy = position[:2]
        gap = np.maximum(np.maximum(self._bin_low[:, :2] - xy, xy - self._bin_high[:, :2]), 0.0)  # (bins, 2)
        outside = np.hypot(gap[:, 0], gap[:, 1])  # (bins,) 0 where the region holds the centre
        to_centre = np.hypot(*(self._bin_centre_xy - xy).T)  # (bins,)
        candidates = np.flatnonzero(outside == 0.0).tolist() or hit
        bins = self.spec.bins
        return min(candidates, key=lambda b: (outside[b], to_centre[b], bins[b].name))

    def _near_bin_or_floor(self, state: WorldState) -> np.ndarray:
        """Active objects close enough to a bin or the floor to touch it.

        Contact queries cost a simulator call each; an object's bounding sphere must
        reach a bin's box (or the floor) before they can touch, so only those are asked.
        """
        pos = state.object_position
        reach = self._bounding_radius + 0.01
        near = pos[:, 2] - reach <= self.spec.floor.height
        if self._bin_low is not None:
            inside = np.all(
                (pos[:, None, :] >= self._bin_low[None] - reach[:, None, None])
                & (pos[:, None, :] <= self._bin_high[None] + reach[:, None, None]),
                axis=2,
            )
            near |= inside.any(axis=1)
        return near & state.object_active
