"""The GAN family's networks and equations (``nn.Module`` and pure functions; no training state).

Every discriminator returns a *logit* ``a`` per example (no sigmoid inside); ``D = σ(a)`` for the
two cross-entropy objectives. Images live in [−1, 1] (generators end in tanh).

Objectives (REFERENCE.md "GANs"; least squares from Mao et al. 2017, targets 0 and 1):

- D, ``minimax`` and ``non-saturating``: ``L_D = −E[log D(x)] − E[log(1 − D(G(z)))]
  = E[softplus(−a_real)] + E[softplus(a_fake)]`` (D maximises the value function);
- G, ``minimax``: ``L_G = E[log(1 − D(G(z)))] = −E[softplus(a_fake)]`` (saturates when D wins);
- G, ``non-saturating``: ``L_G = −E[log D(G(z))] = E[softplus(−a_fake)]``;
- ``least-squares``: ``L_D = ½E[(a_real − 1)²] + ½E[a_fake²]``, ``L_G = ½E[(a_fake − 1)²]``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn



def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """``L_D`` of objective ``kind`` from D's logits on a real and a generated batch."""
    if kind == "least-squares":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """``L_G`` of objective ``kind`` from D's logits on a generated batch."""
    if kind == "least-squares":
        return 0.5 * ((fake - 1) ** 2).mean()
    if kind == "minimax":
        return -F.softplus(fake).mean()
    return F.softplus(-fake).mean()


def d_output(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """What D says about a batch: ``σ(a)`` (probability of "real") for the cross-entropy
    objectives, the raw score ``a`` (target 1 real, 0 fake) for least squares."""
    return logits if kind == "least-squares" else torch.sigmoid(logits)


# ----------------------------------------------------------------------------------- dense nets
class MLP(nn.Module):
    """``x → act(BN(W₁x)) → … → W_L h`` (then ``out_act``), reshaped to ``out_shape``: the dense
    generators of ``gan``, of LAPGAN's coarsest level and of ``gan2d``, and ``gan2d``'s
    discriminator. ``batchnorm`` normalises every hidden layer (Ioffe & Szegedy 2015), which
    keeps a dense generator from collapsing onto a few samples."""

    def __init__(self, sizes: tuple[int, ...], act: nn.Module, out_act: nn.Module | None = None,
                 out_shape: tuple[int, ...] | None = None, batchnorm: bool = False):
        super().__init__()
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            hidden = i < len(sizes) - 2
            layers.append(nn.Linear(a, b, bias=not (hidden and batchnorm)))
            if hidden:
                layers += [nn.BatchNorm1d(b), act] if batchnorm else [act]
        if out_act is not None:
            layers.append(out_act)
        self.net = nn.Sequential(*layers)
        self.out_shape = out_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x.flatten(1))
        return out if self.out_shape is None else out.view(-1, *self.out_shape)


def dropout(x: torch.Tensor, p: float, training: bool, generator: torch.Generator | None) -> torch.Tensor:
    """Inverted dropout, ``x · m / (1 − p)`` with ``m ~ Bernoulli(1 − p)``, drawn from ``generator``
    (the engine's: a resumed run draws the same masks as an uninterrupted one)."""
    if not training or p == 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) >= p
    return x * keep / (1 - p)


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al. 2013): ``h_i = max_j (W_{ij}ᵀx + b_{ij})``, ``pieces``
    linear pieces per unit."""

    def __init__(self, n_in: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(n_in, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.units, self.pieces).amax(2)


class MaxoutDiscriminator(nn.Module):
    """The original paper's discriminator: dropout on the input (p=0.2), maxout layers with
    dropout (``dropout``) between them, one logit. Masks come from ``generator``."""

    def __init__(self, n_in: int, units: tuple[int, ...], pieces: int, dropout: float,
                 generator: torch.Generator | None = None):
        super().__init__()
        sizes = (n_in, *units)
        self.layers = nn.ModuleList(Maxout(a, b, pieces) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], 1)
        self.p, self.generator = dropout, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = dropout(x.flatten(1), 0.2, self.training, self.generator)
        for layer in self.layers:
            h = dropout(layer(h), self.p, self.training, self.generator)
        return self.out(h).squeeze(1)


# ----------------------------------------------------------------------------------- DCGAN
def dc_plan(image_size: int) -> tuple[int, int]:
    """(size of the first feature map, number of ×2 resolution steps): 28 = 7·2², 32 = 4·2³,
    64 = 4·2⁴."""
    base = 7 if image_size % 7 == 0 else 4
    steps = round(math.log2(image_size // base))
    if base * 2 ** steps != image_size:
        raise ValueError(f"no DCGAN layer plan for {image_size} px (use 28, 32 or 64)")
    return base, steps


class DCGenerator(nn.Module):
    """DCGAN generator: ``z`` (as a 1×1 map) → ConvT(base×base) → BN → ReLU, then ``steps − 1``
    × [ConvT(4, stride 2) → BN → ReLU] halving the channels, then ConvT(4, stride 2) → tanh.
    No pooling, no dense hidden layer, no batchnorm on the output."""

    def __init__(self, z_dim: int, channels: int, image_size: int, width: int):
        super().__init__()
        base, steps = dc_plan(image_size)
        ch = width * 2 ** (steps - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, ch, base, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(steps - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.z_dim = z_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(-1, self.z_dim, 1, 1))


class DCDiscriminator(nn.Module):
    """DCGAN discriminator: Conv(4, stride 2) → LeakyReLU(0.2) (no batchnorm on the first layer),
    then [Conv(4, stride 2) → BN → LeakyReLU(0.2)] doubling the channels down to base×base, then
    one base×base convolution to the logit."""

    def __init__(self, channels: int, image_size: int, width: int):
        super().__init__()
        base, steps = dc_plan(image_size)
        ch = width
        layers: list[nn.Module] = [nn.Conv2d(channels, ch, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(steps - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers.append(nn.Conv2d(ch, 1, base, 1, 0))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def init_dcgan_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """DCGAN initialisation: convolution weights ~ N(0, 0.02), batchnorm scales ~ N(1, 0.02),
    biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02, generator=generator)
            nn.init.zeros_(m.bias)
    return module


# ----------------------------------------------------------------------------------- LAPGAN
def downsample(x: torch.Tensor) -> torch.Tensor:
    """``d(I)``: 2×2 average pooling (halves the size)."""
    return F.avg_pool2d(x, 2)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """``u(I)``: bilinear ×2 upsampling."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def gaussian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``[I_0, …, I_{L−1}]``, coarse to fine: ``I_{L−1} = x``, ``I_{k−1} = d(I_k)``."""
    images = [x]
    for _ in range(levels - 1):
        images.insert(0, downsample(images[0]))
    return images


def laplacian_pyramid(x: torch.Tensor, levels: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The coarsest image ``I_0`` and the band-pass residuals ``h_k = I_k − u(I_{k−1})``, coarse
    to fine (k = 1 … L−1)."""
    images = gaussian_pyramid(x, levels)
    return images[0], [fine - upsample(coarse) for coarse, fine in zip(images[:-1], images[1:])]


def reconstruct(coarsest: torch.Tensor, residuals: list[torch.Tensor]) -> torch.Tensor:
    """Inverse of :func:`laplacian_pyramid`: ``I_k = u(I_{k−1}) + h_k``."""
    image = coarsest
    for h in residuals:
        image = upsample(image) + h
    return image


class ResidualGenerator(nn.Module):
    """LAPGAN's ``G_k(z_k, l_k)``: the noise plane stacked on the upsampled coarser image ``l_k`` as
    one more channel, three 3×3 convolutions (BN + ReLU between), tanh: the band-pass residual
    ``h̃_k``; the level's image is ``l_k + h̃_k``."""

    def __init__(self, channels: int, width: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels + 1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.Conv2d(width, channels, 3, padding=1), nn.Tanh())

    def forward(self, z: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([coarse, z], 1))


class ResidualDiscriminator(nn.Module):
    """LAPGAN's ``D_k(h, l_k)``: residual and upsampled coarser image stacked, two stride-2 4×4
    convolutions (LeakyReLU 0.2), dropout (0.5, as the paper's; masks from ``generator``), a dense
    layer to the logit. (With batchnorm instead of dropout, D_k wins outright within a few hundred
    steps.)"""

    def __init__(self, channels: int, size: int, width: int, generator: torch.Generator | None = None):
        super().__init__()
        out = size // 4
        self.convs = nn.Sequential(
            nn.Conv2d(2 * channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2, True), nn.Flatten())
        self.out = nn.Linear(2 * width * out * out, 1)
        self.generator = generator

    def forward(self, h: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        features = self.convs(torch.cat([h, coarse], 1))
        return self.out(dropout(features, 0.5, self.training, self.generator)).squeeze(1)
