"""Closed paths for the views' loop animations (``View.loop``): a phase φ ∈ [0, 1) goes once round,
and φ = 1 is φ = 0 again, so pictures at φ = i/N for i < N play as a seamless loop."""
from __future__ import annotations

import math

import torch


def great_circle(a: torch.Tensor, b: torch.Tensor, phase: float) -> torch.Tensor:
    """``a cos 2πφ + b sin 2πφ``. For ``a`` and ``b`` independent draws of N(0, I) every point of the
    circle is again a draw of N(0, I) (cos² + sin² = 1), so a loop through a Gaussian prior never
    leaves the region the model was trained on; it starts and ends at ``a``."""
    angle = 2 * math.pi * phase
    return a * math.cos(angle) + b * math.sin(angle)


def there_and_back(phase: float) -> float:
    """``(1 − cos 2πφ) / 2``: from 0 at φ = 0 to 1 at φ = ½ and back, with zero speed at both ends
    (a morph that eases into each end instead of bouncing off it)."""
    return (1 - math.cos(2 * math.pi * phase)) / 2

