"""The chair generator of Dosovitskiy et al. (2015), "Learning to generate chairs": the model and
the image transformations it learns to apply.

Input, per image: the chair's one-hot code ``c`` (one unit per chair model), the view
``v = (sin a, cos a, sin e, cos e)`` (azimuth a, elevation e) and the transformation parameters
``θ`` (zoom, horizontal and vertical shift, brightness, hue), scaled to about [−1, 1] with 0 = no
change. Each goes through two fully connected layers of its own; the three codes are
concatenated and go through two more, then reshaped to a 4×4 feature map and up-convolved
(``ConvTranspose2d`` with kernel 4, stride 2: each doubles the size and halves the channels) to the
image size, where a last 3×3 convolution gives the RGB image (sigmoid) and the mask's logits.
Loss, as the paper: ``‖RGB − target‖² + λ · CE(mask, target mask)`` (means over pixels).

:func:`transform` applies ``θ`` to a rendered view: zoom ``z`` and shift ``(dx, dy)`` move pixels
(``x_in = (x_out − 2 d) / z`` in [−1, 1] image coordinates), brightness multiplies the object's
colour and hue rotates it about the grey axis; the background stays as it is.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# name, identity value, range of the random transformations (and of the sliders)
TRANSFORMS = (("zoom", 1.0, (0.8, 1.25)), ("shift_x", 0.0, (-0.1, 0.1)), ("shift_y", 0.0, (-0.1, 0.1)),
              ("brightness", 1.0, (0.6, 1.4)), ("hue", 0.0, (-0.25, 0.25)))
IDENTITY = tuple(identity for _, identity, _ in TRANSFORMS)


def view_code(azimuth: torch.Tensor, elevation: torch.Tensor) -> torch.Tensor:
    """``(sin a, cos a, sin e, cos e)`` of angles in degrees, (N,) each -> (N, 4)."""
    a, e = torch.deg2rad(azimuth.float()), torch.deg2rad(elevation.float())
    return torch.stack([a.sin(), a.cos(), e.sin(), e.cos()], 1)


def transform_code(theta: torch.Tensor) -> torch.Tensor:
    """Raw parameters (N, 5) -> the network's input: ``(θ − identity) / half-range``."""
    identity = theta.new_tensor(IDENTITY)
    half = theta.new_tensor([(hi - lo) / 2 for _, _, (lo, hi) in TRANSFORMS])
    return (theta - identity) / half


def random_transforms(count: int, probability: float, generator: torch.Generator, device) -> torch.Tensor:
    """(count, 5) raw parameters: each row uniform over :data:`TRANSFORMS`' ranges with
    ``probability``, the identity otherwise."""
    lo = torch.tensor([r[0] for _, _, r in TRANSFORMS], device=device)
    hi = torch.tensor([r[1] for _, _, r in TRANSFORMS], device=device)
    theta = lo + (hi - lo) * torch.rand(count, len(TRANSFORMS), generator=generator, device=device)
    keep = torch.rand(count, 1, generator=generator, device=device) < probability
    return torch.where(keep, theta, theta.new_tensor(IDENTITY))


def hue_rotation(turns: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) rotations of RGB about the grey axis ``k = (1, 1, 1)/√3`` by ``2π·turns``:
    ``R = cos φ I + sin φ [k]× + (1 − cos φ) k kᵀ``."""
    phi = 2 * math.pi * turns
    k = torch.full((3,), 1 / math.sqrt(3), device=turns.device)
    cross = torch.tensor([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]], device=turns.device)
    c, s = phi.cos()[:, None, None], phi.sin()[:, None, None]
    return c * torch.eye(3, device=turns.device) + s * cross + (1 - c) * torch.outer(k, k)


def transform(images: torch.Tensor, masks: torch.Tensor, theta: torch.Tensor,
              background: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply raw parameters ``theta`` (N, 5) to views (N, 3, H, W) over ``background`` (3,) with
    masks (N, 1, H, W). The object's premultiplied colour ``image − (1 − mask)·background`` and
    the mask are warped together (bilinear, zero outside), recoloured, and composited again."""
    zoom, dx, dy, bright, hue = theta.unbind(1)
    bg = background.view(1, 3, 1, 1)
    colour = images - (1 - masks) * bg
    affine = torch.zeros(len(theta), 2, 3, device=theta.device)
    affine[:, 0, 0] = affine[:, 1, 1] = 1 / zoom
    affine[:, 0, 2] = -2 * dx / zoom
    affine[:, 1, 2] = -2 * dy / zoom
    grid = F.affine_grid(affine, list(images.shape), align_corners=False)
    warped = F.grid_sample(torch.cat([colour, masks], 1), grid, align_corners=False, padding_mode="zeros")
    colour, masks = warped[:, :3], warped[:, 3:].clamp(0, 1)
    colour = torch.einsum("nij,njhw->nihw", hue_rotation(hue), colour) * bright.view(-1, 1, 1, 1)
    return (colour + (1 - masks) * bg).clamp(0, 1), masks


class ChairGenerator(nn.Module):
    """``(c, v, θ) → (RGB, mask logits)``: per-input FC streams, two joint FC layers, 4×4 map,
    ``log2(size/4)`` up-convolutions."""

    def __init__(self, n_chairs: int, image_size: int, width: int = 128, hidden: int = 512):
        super().__init__()
        ups = int(round(math.log2(image_size / 4)))
        if ups < 1 or 4 * 2 ** ups != image_size:
            raise ValueError(f"the chair generator makes square images of 8, 16, 32, 64, 128... pixels, not {image_size}")
        act = nn.LeakyReLU(0.2)
        self.width = width
        self.chair = nn.Sequential(nn.Linear(n_chairs, hidden // 2), act, nn.Linear(hidden // 2, hidden // 2), act)
        self.view = nn.Sequential(nn.Linear(4, hidden // 4), act, nn.Linear(hidden // 4, hidden // 4), act)
        self.theta = nn.Sequential(nn.Linear(len(TRANSFORMS), hidden // 4), act, nn.Linear(hidden // 4, hidden // 4), act)
        self.joint = nn.Sequential(nn.Linear(hidden, hidden), act, nn.Linear(hidden, hidden), act,
                                   nn.Linear(hidden, width * 16), act)
        layers, channels = [], width
        for i in range(ups):
            out = max(8, channels // 2)
            layers += [nn.ConvTranspose2d(channels, out, 4, stride=2, padding=1), act]
            if i < 2:   # a 3×3 convolution after the cheap low-resolution up-convolutions
                layers += [nn.Conv2d(out, out, 3, padding=1), act]
            channels = out
        layers.append(nn.Conv2d(channels, 4, 3, padding=1))
        self.up = nn.Sequential(*layers)

    def forward(self, chair: torch.Tensor, view: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One-hot (or interpolated) chair codes (N, chairs), view codes (N, 4), transformation
        codes (N, 5) -> RGB (N, 3, H, W) in [0, 1] and mask logits (N, 1, H, W)."""
        code = torch.cat([self.chair(chair), self.view(view), self.theta(theta)], 1)
        out = self.up(self.joint(code).view(-1, self.width, 4, 4))
        return torch.sigmoid(out[:, :3]), out[:, 3:]

    @staticmethod
    def loss(rgb: torch.Tensor, mask_logits: torch.Tensor, target: torch.Tensor, target_mask: torch.Tensor,
             mask_weight: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``mean (RGB − target)² + λ · mean CE(mask)``; returns (loss, image MSE, mask CE)."""
        mse = F.mse_loss(rgb, target)
        ce = F.binary_cross_entropy_with_logits(mask_logits, target_mask)
        return mse + mask_weight * ce, mse, ce
