"""Networks: MLP, CNN image encoder, dict-observation encoder, actors and critics.

Every size is derived from the observation layout and the action space; the
config only says widths, channels and activations.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from agents.config import CommonConfig
from agents.spaces import ObsLayout, image_chw, is_channels_last

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
}


def activation(name: str) -> nn.Module:
    return _ACTIVATIONS[name]()


def orthogonal_init(module: nn.Module, gain: float) -> None:
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.orthogonal_(module.weight, gain)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class MLP(nn.Sequential):
    """Linear layers with an activation between them; no activation after the output layer."""

    def __init__(self, in_dim: int, hidden_sizes: Sequence[int], out_dim: int | None, act: str) -> None:
        layers: list[nn.Module] = []
        last = in_dim
        for h in hidden_sizes:
            layers += [nn.Linear(last, h), activation(act)]
            last = h
        if out_dim is not None:
            layers.append(nn.Linear(last, out_dim))
            last = out_dim
        super().__init__(*layers)
        self.out_dim = last


def _norm_layer(kind: str, channels: int) -> nn.Module | None:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(channels, 8), channels)
    return None


class CNNEncoder(nn.Module):
    """Conv blocks (conv -> norm -> activation -> dropout) then flatten and one linear layer.

    Takes uint8 images, (B, H, W, C) or (B, C, H, W) as the space declares them,
    and scales them to [0, 1] here, so that buffers never hold float images.
    """

    def __init__(self, shape: tuple[int, ...], cfg: CommonConfig) -> None:
        super().__init__()
        self.channels_last = is_channels_last(shape)
        c, h, w = image_chw(shape)
        n = len(cfg.cnn_channels)
        kernels = cfg.cnn_kernel_sizes * n if len(cfg.cnn_kernel_sizes) == 1 else cfg.cnn_kernel_sizes
        strides = cfg.cnn_strides * n if len(cfg.cnn_strides) == 1 else cfg.cnn_strides
        layers: list[nn.Module] = []
        last = c
        for ch, k, s in zip(cfg.cnn_channels, kernels, strides, strict=True):
            layers.append(nn.Conv2d(last, ch, k, s, padding=k // 2))
            norm = _norm_layer(cfg.cnn_norm, ch)
            if norm is not None:
                layers.append(norm)
            layers.append(activation(cfg.cnn_activation))
            if cfg.cnn_dropout > 0:
                layers.append(nn.Dropout2d(cfg.cnn_dropout))
            last = ch
        layers.append(nn.Flatten())
        self.convs = nn.Sequential(*layers)
        with torch.no_grad():
            was_training = self.convs.training
            self.convs.eval()
            n_flat = self.convs(torch.zeros(1, c, h, w)).shape[1]
            self.convs.train(was_training)
        self.head = nn.Sequential(nn.Linear(n_flat, cfg.cnn_features), activation(cfg.cnn_activation))
        self.out_dim = cfg.cnn_features

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            img = img.permute(0, 3, 1, 2)
        return self.head(self.convs(img.float() * (1.0 / 255.0)))


class ObsEncoder(nn.Module):
    """Turns an observation dict into one feature vector: a CNN per image key, and the
    vector keys flattened and concatenated (sorted key order). Parameter-free when
    there are no images."""

    def __init__(self, layout: ObsLayout, cfg: CommonConfig) -> None:
        super().__init__()
        self.layout = layout
        self.cnns = nn.ModuleDict({k: CNNEncoder(layout.shapes[k], cfg) for k in layout.image_keys})
        self.out_dim = self.feature_dim(layout, cfg)
        self._single_vector = not layout.image_keys and len(layout.vector_keys) == 1

    @staticmethod
    def feature_dim(layout: ObsLayout, cfg: CommonConfig) -> int:
        """Width of the feature vector, without building the CNNs."""
        return layout.vector_dim + len(layout.image_keys) * cfg.cnn_features

    @property
    def has_params(self) -> bool:
        return len(self.cnns) > 0

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        if self._single_vector:
            x = obs[self.layout.vector_keys[0]]
            return x.reshape(x.shape[0], -1)
        parts = [self.cnns[k](obs[k]) for k in self.layout.image_keys]
        parts += [obs[k].reshape(obs[k].shape[0], -1) for k in self.layout.vector_keys]
        return torch.cat(parts, dim=-1)


class GaussianActor(nn.Module):
    """PPO policy: mean from an MLP, log-std a learned state-independent vector."""

    def __init__(self, layout: ObsLayout, act_dim: int, cfg: CommonConfig, init_log_std: float, ortho: bool) -> None:
        super().__init__()
        self.encoder = ObsEncoder(layout, cfg)
        self.mlp = MLP(self.encoder.out_dim, cfg.hidden_sizes, act_dim, cfg.activation)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))
        if ortho:
            self.mlp.apply(lambda m: orthogonal_init(m, math.sqrt(2)))
            orthogonal_init(self.mlp[-1], 0.01)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.mlp(self.encoder(obs))


class ValueCritic(nn.Module):
    def __init__(self, layout: ObsLayout, cfg: CommonConfig, ortho: bool) -> None:
        super().__init__()
        self.encoder = ObsEncoder(layout, cfg)
        self.mlp = MLP(self.encoder.out_dim, cfg.hidden_sizes, 1, cfg.activation)
        if ortho:
            self.mlp.apply(lambda m: orthogonal_init(m, math.sqrt(2)))
            orthogonal_init(self.mlp[-1], 1.0)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.mlp(self.encoder(obs)).squeeze(-1)


class DeterministicActor(nn.Module):
    """TD3 policy: tanh-bounded action in [-1, 1] (rescaled to the env's bounds outside).

    `encoder` lets TD3 pass the image encoder it shares with the critics: the actor then
    holds a reference to it (so acting on a raw observation dict, `Policy` and best.pt work
    unchanged, with the same state_dict keys as an actor with its own encoder), while the
    update calls `head` on features computed once per batch."""

    def __init__(self, layout: ObsLayout, act_dim: int, cfg: CommonConfig, encoder: ObsEncoder | None = None) -> None:
        super().__init__()
        self.encoder = encoder if encoder is not None else ObsEncoder(layout, cfg)
        self.mlp = MLP(self.encoder.out_dim, cfg.hidden_sizes, act_dim, cfg.activation)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """The action from encoder features (the shared-encoder update)."""
        return torch.tanh(self.mlp(features))

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.tanh(self.mlp(self.encoder(obs)))


class EnsembleLinear(nn.Module):
    """`n` independent linear layers evaluated as one batched matmul: (E, B, in) -> (E, B, out).

    Twin critics become one chain of `baddbmm` calls instead of two chains of
    `addmm`, which halves the per-update Python/dispatch overhead of TD3.
    """

    def __init__(self, n: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_dim)  # nn.Linear's default initialisation
        self.weight = nn.Parameter(torch.empty(n, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, 1, out_dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, only_first: bool = False, detach: bool = False) -> torch.Tensor:
        w, b = (self.weight[:1], self.bias[:1]) if only_first else (self.weight, self.bias)
        if detach:  # the actor loss needs d/da only: skip the critics' weight gradients
            w, b = w.detach(), b.detach()
        return torch.baddbmm(b, x, w)


class QEnsemble(nn.Module):
    """`n` critics Q(s, a) -> (E, B). With `encode` (TD3's encoder=separate), image
    observations get one CNN per critic and vector observations are shared (the encoder then
    has no parameters); without it the critics own no encoder and take features from an
    encoder outside (TD3's encoder=shared) through `heads`."""

    def __init__(self, layout: ObsLayout, act_dim: int, cfg: CommonConfig, n: int, encode: bool = True) -> None:
        super().__init__()
        self.n = n
        encoders: list[ObsEncoder] = []
        if encode:
            encoders.append(ObsEncoder(layout, cfg))
            if encoders[0].has_params:
                encoders += [ObsEncoder(layout, cfg) for _ in range(n - 1)]
        self.encoders = nn.ModuleList(encoders)
        dims = [ObsEncoder.feature_dim(layout, cfg) + act_dim, *cfg.hidden_sizes, 1]
        self.layers = nn.ModuleList(EnsembleLinear(n, a, b) for a, b in itertools.pairwise(dims))
        self.act = activation(cfg.activation)
        self._encoders, self._layers = tuple(self.encoders), tuple(self.layers)

    def forward(
        self, obs: dict[str, torch.Tensor], action: torch.Tensor, only_first: bool = False, detach: bool = False
    ) -> torch.Tensor:
        """Q-values (E, B); `only_first` evaluates critic 0 alone (actor loss), `detach`
        computes no gradients for any critic parameter (the actor loss needs d/da only)."""
        n = 1 if only_first else self.n
        encoders = self._encoders  # plain tuples: slicing a ModuleList builds a Module
        with torch.no_grad() if detach else contextlib.nullcontext():
            feats = [encoders[i](obs) for i in range(min(n, len(encoders)))]
        return self.heads(feats, action, only_first, detach)

    def heads(
        self, feats: Sequence[torch.Tensor], action: torch.Tensor, only_first: bool = False, detach: bool = False
    ) -> torch.Tensor:
        """Q-values (E, B) from observation features: one (B, F) tensor shared by every
        critic, or one per critic."""
        n = 1 if only_first else self.n
        if len(feats) == 1:
            x = torch.cat([feats[0], action], dim=-1).unsqueeze(0).expand(n, -1, -1)
        else:
            x = torch.stack([torch.cat([f, action], dim=-1) for f in feats[:n]])
        layers = self._layers
        for layer in layers[:-1]:
            x = self.act(layer(x, only_first, detach))
        return layers[-1](x, only_first, detach).squeeze(-1)


def mode_matters(*modules: nn.Module) -> bool:
    """True if any submodule computes differently in train and eval mode (dropout, batch norm).

    Why: `Module.train()` walks every submodule; TD3 would flip its actor twice per env
    step (~0.1 ms) for nothing when no layer cares, so it skips the flips then."""
    kinds = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
    return any(isinstance(m, kinds) for mod in modules for m in mod.modules())


def obs_to_tensor(obs: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    """Zero-copy on CPU when the arrays are contiguous (uint8 images stay uint8)."""
    return {k: torch.as_tensor(v, device=device) for k, v in obs.items()}
