"""Observation layouts: one internal representation for Box and Dict observations.

Every observation is handled as a `dict[str, np.ndarray]`; a plain Box becomes
`{"obs": array}`. Keys are split into *image* keys (uint8 Box of rank 3, kept as
uint8 all the way to the network) and *vector* keys (flattened and concatenated in
sorted key order). All network and buffer sizes are derived from this layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from agents.errors import ConfigError

BOX_KEY = "obs"


def is_image_space(space: gym.Space) -> bool:
    """A uint8 Box of rank 3 (H, W, C) or (C, H, W) is treated as an image."""
    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


def image_chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) of an image space: gymnasium images are (H, W, C); accept (C, H, W) too.

    The channel axis is the first or the last; which one is decided, in this order:
    1. exactly one of them is <= 4 (one gray, RGB or RGBA frame): that one;
    2. the middle axis (always spatial) equals exactly one of them (square frames): the other
       one, so stacked frames (84, 84, 12) and (12, 84, 84), or envkit's small cameras with many
       stacked frames (32, 32, 48), are read right although their channel count exceeds 4;
    3. otherwise the smaller one (SB3's rule: there are fewer channels than pixels), and
       channels last on a tie, gymnasium's convention.
    """
    first, middle, last = shape
    return (first, middle, last) if not is_channels_last(shape) else (last, first, middle)


def is_channels_last(shape: tuple[int, ...]) -> bool:
    """The rule `image_chw` documents: True for (H, W, C)."""
    first, middle, last = shape
    if (first <= 4) != (last <= 4):
        return last <= 4
    if (middle == first) != (middle == last):
        return middle == first
    return not first < last


@dataclass(frozen=True)
class ObsLayout:
    """Names, shapes and dtypes of the parts of an observation."""

    is_dict: bool
    image_keys: tuple[str, ...]
    vector_keys: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, np.dtype]

    @property
    def keys(self) -> tuple[str, ...]:
        return self.image_keys + self.vector_keys

    @property
    def vector_dim(self) -> int:
        return int(sum(int(np.prod(self.shapes[k])) for k in self.vector_keys))


def obs_layout(space: gym.Space) -> ObsLayout:
    """Derive the layout from an observation space; unsupported spaces are a ConfigError."""
    if isinstance(space, gym.spaces.Dict):
        items = sorted(space.spaces.items())
        is_dict = True
    else:
        items = [(BOX_KEY, space)]
        is_dict = False
    image, vector, shapes, dtypes = [], [], {}, {}
    for key, sub in items:
        if not isinstance(sub, gym.spaces.Box):
            raise ConfigError(
                f"Observation {key!r} has space {sub}; the agents support Box observations "
                "(vectors, or uint8 images of shape (H, W, C)) and Dicts of them."
            )
        shapes[key] = tuple(sub.shape)
        if is_image_space(sub):
            image.append(key)
            dtypes[key] = np.dtype(np.uint8)
        else:
            vector.append(key)
            dtypes[key] = np.dtype(np.float32)
    return ObsLayout(is_dict, tuple(image), tuple(vector), shapes, dtypes)


def as_dict(obs: np.ndarray | dict[str, np.ndarray], layout: ObsLayout) -> dict[str, np.ndarray]:
    """View an observation (single or batched) as a dict without copying."""
    if layout.is_dict:
        return obs  # type: ignore[return-value]
    return {BOX_KEY: obs}  # type: ignore[dict-item]


def check_action_space(space: gym.Space) -> gym.spaces.Box:
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ConfigError(
            f"Action space {space} is not supported: PPO and TD3 here need a 1-D continuous Box."
        )
    if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
        raise ConfigError(
            f"Action space {space} has infinite bounds; the agents act in [-1, 1] rescaled to the "
            "bounds, so the env must declare finite ones."
        )
    return space


class ActionScaler:
    """Maps the policy's [-1, 1] actions to the env's bounds (and back)."""

    def __init__(self, space: gym.spaces.Box) -> None:
        self.low = space.low.astype(np.float64)
        self.high = space.high.astype(np.float64)
        self.dtype = space.dtype
        self._scale = (self.high - self.low) / 2.0
        self._mid = (self.high + self.low) / 2.0

    def to_env(self, action: np.ndarray) -> np.ndarray:
        return (self._mid + self._scale * np.clip(action, -1.0, 1.0)).astype(self.dtype, copy=False)

    def from_env(self, action: np.ndarray) -> np.ndarray:
        return ((np.asarray(action, np.float64) - self._mid) / self._scale).astype(np.float32)
