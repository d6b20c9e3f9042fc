"""Networks: sizes derived from spaces, CNN options, dict combiner, critic ensemble."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.config import TD3Config
from agents.networks import CNNEncoder, ObsEncoder, QEnsemble
from agents.spaces import obs_layout


def _image_dict_space(h=24, w=32, c=1):
    return gym.spaces.Dict({"cam": gym.spaces.Box(0, 255, (h, w, c), np.uint8),
                            "joints": gym.spaces.Box(-1, 1, (7,), np.float32),
                            "goal": gym.spaces.Box(-1, 1, (3,), np.float32)})


@pytest.mark.parametrize("norm", ["none", "batch", "layer", "group"])
def test_cnn_encoder_options(norm):
    cfg = TD3Config(cnn_channels=[16, 32, 32, 32, 16], cnn_norm=norm, cnn_dropout=0.1, cnn_features=64)
    enc = CNNEncoder((240, 320, 1), cfg)  # Task A's camera
    convs = [m for m in enc.convs if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == [16, 32, 32, 32, 16]
    assert any(isinstance(m, torch.nn.Dropout2d) for m in enc.convs)
    enc.eval()
    out = enc(torch.randint(0, 255, (2, 240, 320, 1), dtype=torch.uint8))
    assert out.shape == (2, 64)


def test_dict_encoder_combines_image_and_vectors():
    layout = obs_layout(_image_dict_space())
    assert layout.image_keys == ("cam",) and layout.vector_keys == ("goal", "joints")
    enc = ObsEncoder(layout, TD3Config(cnn_channels=[8], cnn_features=20))
    obs = {"cam": torch.zeros(4, 24, 32, 1, dtype=torch.uint8), "joints": torch.ones(4, 7), "goal": torch.ones(4, 3)}
    assert enc.out_dim == 20 + 10 and enc(obs).shape == (4, 30)


def test_q_ensemble_matches_independent_critics():
    layout = obs_layout(gym.spaces.Box(-1, 1, (5,)))
    q = QEnsemble(layout, 2, TD3Config(hidden_sizes=[8, 8]), n=2)
    obs, act = {"obs": torch.randn(6, 5)}, torch.randn(6, 2)
    out = q(obs, act)
    assert out.shape == (2, 6)
    for i in range(2):  # critic i computed by hand from its own weights
        x = torch.cat([obs["obs"], act], -1)
        for j, layer in enumerate(q.layers):
            x = x @ layer.weight[i] + layer.bias[i]
            if j < len(q.layers) - 1:
                x = torch.relu(x)
        torch.testing.assert_close(out[i], x.squeeze(-1))
    torch.testing.assert_close(q(obs, act, only_first=True)[0], out[0])


def test_actor_loss_path_leaves_critic_without_gradients():
    layout = obs_layout(gym.spaces.Box(-1, 1, (5,)))
    q = QEnsemble(layout, 2, TD3Config(hidden_sizes=[8]), n=2)
    a = torch.randn(3, 2, requires_grad=True)
    q({"obs": torch.randn(3, 5)}, a, only_first=True, detach=True).sum().backward()
    assert a.grad is not None and all(p.grad is None for p in q.parameters())


@pytest.mark.parametrize(("shape", "chw"), [
    ((84, 84, 3), (3, 84, 84)),        # gymnasium's (H, W, C)
    ((3, 84, 84), (3, 84, 84)),        # channels first
    ((12, 84, 84), (12, 84, 84)),      # 4 stacked RGB frames, channels first
    ((84, 84, 12), (12, 84, 84)),      # the same, channels last
    ((32, 32, 48), (48, 32, 32)),      # envkit: 16 stacked RGB frames of a small camera, channels last
    ((48, 32, 32), (48, 32, 32)),
    ((240, 320, 12), (12, 240, 320)),  # non-square, stacked, channels last
    ((12, 240, 320), (12, 240, 320)),
    ((240, 320, 1), (1, 240, 320)),
])
def test_image_channel_axis_is_found_for_stacked_frames(shape, chw):
    from agents.spaces import image_chw, is_channels_last

    assert image_chw(shape) == chw
    assert is_channels_last(shape) == (shape != chw)


def test_cnn_reads_a_channels_first_stack_of_twelve():
    enc = CNNEncoder((12, 16, 16), TD3Config(cnn_channels=[8], cnn_features=16))
    assert enc.convs[0].in_channels == 12 and not enc.channels_last
    assert enc(torch.zeros(2, 12, 16, 16, dtype=torch.uint8)).shape == (2, 16)


def test_a_cube_image_is_channels_last_as_gymnasium_says():
    from agents.spaces import is_channels_last

    assert is_channels_last((8, 8, 8)) and is_channels_last((3, 3, 3))
