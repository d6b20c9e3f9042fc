"""DrQ random shift: uint8 in and out, shapes kept, seeded, both channel layouts, and every
output a crop of the edge-padded image (checked against numpy)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.augment import RandomShift, make_augmenter, random_shift, shift_images
from agents.spaces import obs_layout

PAD = 4


def _numpy_crop(img_hwc: np.ndarray, dy: int, dx: int, pad: int) -> np.ndarray:
    h, w = img_hwc.shape[:2]
    padded = np.pad(img_hwc, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    return padded[pad + dy:pad + dy + h, pad + dx:pad + dx + w]


@pytest.mark.parametrize("channels_last", [True, False], ids=["hwc", "chw"])
@pytest.mark.parametrize("c", [1, 3])
def test_explicit_shifts_match_numpy_pad_and_crop(channels_last, c):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (6, 11, 13, c), dtype=np.uint8)  # non-square: rows and columns not mixed up
    shifts = torch.tensor([[0, 0], [1, -2], [-4, 4], [4, -4], [-1, 3], [2, 0]])
    x = torch.from_numpy(imgs) if channels_last else torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()
    out = shift_images(x, shifts, channels_last)
    assert out.dtype == torch.uint8 and out.shape == x.shape and out.is_contiguous()
    out_hwc = out.numpy() if channels_last else out.permute(0, 2, 3, 1).numpy()
    for i, (dy, dx) in enumerate(shifts.tolist()):
        np.testing.assert_array_equal(out_hwc[i], _numpy_crop(imgs[i], dy, dx, PAD), err_msg=f"image {i}")


@pytest.mark.parametrize("shape", [(84, 84, 1), (84, 84, 3), (3, 84, 84), (12, 84, 84)])
@pytest.mark.parametrize("batch", [1, 16])
def test_random_shift_is_a_seeded_crop_of_the_padded_image(shape, batch):
    from agents.spaces import is_channels_last

    last = is_channels_last(shape)
    x = torch.randint(0, 256, (batch, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    out = random_shift(x, PAD, torch.Generator().manual_seed(7), last)
    again = random_shift(x, PAD, torch.Generator().manual_seed(7), last)
    other = random_shift(x, PAD, torch.Generator().manual_seed(8), last)
    assert out.dtype == torch.uint8 and out.shape == x.shape
    assert torch.equal(out, again)  # same seed, same shifts
    if batch > 1:
        assert not torch.equal(out, x) and not torch.equal(out, other)
    # each output is the crop at one of the (2 pad + 1)^2 offsets
    hwc = (lambda t: t.numpy()) if last else (lambda t: t.permute(0, 2, 3, 1).numpy())
    xs, outs = hwc(x), hwc(out)
    for i in range(batch):
        found = [(dy, dx) for dy in range(-PAD, PAD + 1) for dx in range(-PAD, PAD + 1)
                 if np.array_equal(outs[i], _numpy_crop(xs[i], dy, dx, PAD))]
        assert found, f"image {i} is no crop of its padded image"


def test_pad_zero_is_the_identity_and_needs_no_random_numbers():
    x = torch.randint(0, 256, (4, 8, 8, 1), dtype=torch.uint8)
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert random_shift(x, 0, g, True) is x
    assert torch.equal(g.get_state(), state)


def test_obs_dicts_shift_images_only_and_the_generator_state_round_trips():
    space = gym.spaces.Dict({"cam": gym.spaces.Box(0, 255, (16, 16, 1), np.uint8),
                             "state": gym.spaces.Box(-1, 1, (3,), np.float32)})
    layout = obs_layout(space)
    assert make_augmenter(layout, "none", PAD, 0) is None
    assert make_augmenter(obs_layout(space["state"]), "shift", PAD, 0) is None  # no images: nothing to do
    aug = make_augmenter(layout, "shift", PAD, seed=3)
    assert isinstance(aug, RandomShift)
    obs = {"cam": torch.randint(0, 256, (8, 16, 16, 1), dtype=torch.uint8), "state": torch.randn(8, 3)}
    saved = aug.state_dict()
    first = aug(obs)
    assert first["state"] is obs["state"] and not torch.equal(first["cam"], obs["cam"])
    aug.load_state_dict(saved)
    assert torch.equal(aug(obs)["cam"], first["cam"])  # the restored generator repeats the shifts
