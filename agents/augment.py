"""Random-shift augmentation of uint8 image batches (DrQ: Kostrikov et al. 2020; DrQ-v2: Yarats et al. 2021).

Why: an encoder trained from a critic loss on a few thousand frames overfits to exact
pixel positions; shifting every frame by a few pixels (pad with the edge pixels, crop
back at a random offset) is the regulariser that made pixel-based off-policy RL work
without auxiliary losses. It is applied to replay/minibatch samples only, never when
acting.

How: padding and cropping are done by indexing with clamped indices (a clamped index *is*
the replicate padding) on the uint8 tensor, so no padded copy and no float image is made;
the CNN scales to [0, 1] as before. The shifts come from a `torch.Generator` of
their own, seeded from the run seed and saved in checkpoints, so a run is reproducible
and its other random streams do not depend on whether augmentation is on.
"""

from __future__ import annotations

from typing import Any

import torch

from agents.spaces import ObsLayout, is_channels_last


def shift_images(images: torch.Tensor, shifts: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """Image i moved by `shifts[i] = (dy, dx)` pixels: out[y, x] = in[clamp(y + dy), clamp(x + dx)],
    i.e. a crop at offset (pad + dy, pad + dx) of the image padded by `pad` edge pixels.

    `images` is (B, H, W, C) or (B, C, H, W); the result has the same shape, dtype and
    layout, and is contiguous. Rows move with one `index_select` of whole rows (memcpy
    speed), columns with one `gather`: 2-3x faster than one 3-index gather (measured in
    benchmarks/pixels.py's development, 84x84, B 16-256)."""
    if not channels_last:  # every channel plane of image i gets image i's shift
        b, c, h, w = images.shape
        planes = images.reshape(b * c, h, w, 1)
        return shift_images(planes, shifts.repeat_interleave(c, 0), True).view(b, c, h, w)
    b, h, w, c = images.shape
    dev = images.device
    shifts = shifts.to(dev)
    rows = (torch.arange(h, device=dev) + shifts[:, :1]).clamp_(0, h - 1)  # (B, H)
    rows += torch.arange(b, device=dev)[:, None] * h
    out = images.reshape(b * h, w * c).index_select(0, rows.view(-1)).view(b, h, w, c)
    cols = (torch.arange(w, device=dev) + shifts[:, 1:]).clamp_(0, w - 1)  # (B, W)
    return out.gather(2, cols[:, None, :, None].expand(b, h, w, c))


def random_shift(images: torch.Tensor, pad: int, generator: torch.Generator, channels_last: bool) -> torch.Tensor:
    """Every image shifted by its own uniform integer (dy, dx) in [-pad, pad]^2 (edge pixels repeated)."""
    if pad <= 0:
        return images
    shifts = torch.randint(-pad, pad + 1, (images.shape[0], 2), generator=generator, device=generator.device)
    return shift_images(images, shifts, channels_last)


class RandomShift:
    """Shifts the image keys of an observation-batch dict (each key and image independently);
    vector keys pass through unchanged."""

    def __init__(self, layout: ObsLayout, pad: int, seed: int) -> None:
        self.pad = int(pad)
        self.channels_last = {k: is_channels_last(layout.shapes[k]) for k in layout.image_keys}
        # A CPU generator on every device: the same shifts everywhere, and its state is plain data.
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(int(seed) + 0x5EED)

    def __call__(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = dict(obs)
        for k, last in self.channels_last.items():
            out[k] = random_shift(obs[k], self.pad, self.generator, last)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])


def make_augmenter(layout: ObsLayout, augment: str, pad: int, seed: int) -> RandomShift | None:
    """The augmentation `augment` names for this layout; None when off or without image keys."""
    if augment == "none" or not layout.image_keys or pad <= 0:
        return None
    return RandomShift(layout, pad, seed)
