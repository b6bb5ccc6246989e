"""Distances between a generated sample and held-out data.

- :func:`frechet_distance`: ``‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{½} Σ₂ Σ₁^{½})^{½})``, the Fréchet
  (2-Wasserstein) distance between Gaussians fitted to two feature sets (Heusel et al. 2017, there
  with Inception features; here with the project's digit classifier). The matrix square roots
  come from eigendecompositions of symmetric positive semi-definite matrices (:func:`sqrtm_psd`),
  so they stay real; ``tr((Σ₁^{½}Σ₂Σ₁^{½})^{½}) = tr((Σ₁Σ₂)^{½})``.
- :func:`class_coverage`: the normalised entropy of the predicted-class histogram,
  ``H(p̂) / log K`` (1: every class equally often; 0: one class only — mode collapse).
- :class:`ParzenEstimator`: the Gaussian Parzen-window log-likelihood of Goodfellow et al. 2014:
  ``log p(x) = logsumexp_i(−‖x − s_i‖² / 2σ²) − log S − (D/2) log(2πσ²)`` over S generated samples
  ``s_i``, σ chosen to maximise the mean on a validation set and the mean (± standard error)
  reported on the test set. Samples arrive in chunks, so memory stays bounded.
"""
from __future__ import annotations

import math

import numpy as np
import torch

DEFAULT_SIGMAS = tuple(np.geomspace(0.01, 2.0, 18).tolist())     # neighbours 1.37× apart


def sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """``A^{½}`` of a symmetric positive semi-definite matrix: ``V diag(√max(λ, 0)) Vᵀ``."""
    a = (a + a.T) / 2
    eigval, eigvec = np.linalg.eigh(a)
    return (eigvec * np.sqrt(np.clip(eigval, 0, None))) @ eigvec.T


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of the rows of ``features``, in float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least two feature vectors (rows), got shape {x.shape}")
    return x.mean(0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors (rows)."""
    mu_a, cov_a = gaussian_stats(features_a)
    mu_b, cov_b = gaussian_stats(features_b)
    root_a = sqrtm_psd(cov_a)
    cross = sqrtm_psd(root_a @ cov_b @ root_a)
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(cross))
    return max(value, 0.0)


def class_coverage(predicted: np.ndarray, classes: int = 10) -> float:
    """``H(p̂) / log K`` of the histogram ``p̂`` of predicted classes (0 … K−1)."""
    counts = np.bincount(np.asarray(predicted, dtype=np.int64), minlength=classes)[:classes]
    p = counts[counts > 0] / counts.sum()
    return max(0.0, float(-(p * np.log(p)).sum() / math.log(classes)))     # one class: 0, not −0


class ParzenEstimator:
    """Running Parzen-window log-likelihoods of ``valid`` and ``test`` points (rows, any dimension)
    for every bandwidth in ``sigmas``; :meth:`add` a chunk of samples at a time, then :meth:`result`.
    Memory: the points, one chunk, and (batch × chunk × sigmas) float32 terms; the running sums are
    float64."""

    def __init__(self, valid: torch.Tensor, test: torch.Tensor, sigmas=DEFAULT_SIGMAS, batch: int = 256):
        self.points = torch.cat([valid.flatten(1), test.flatten(1)]).double()
        self.n_valid = len(valid)
        self.sigmas = torch.tensor(sigmas, dtype=torch.float64, device=self.points.device)
        self.lse = torch.full((len(self.points), len(sigmas)), -math.inf, dtype=torch.float64,
                              device=self.points.device)
        self.count = 0
        self.batch = batch
        self.sq_points = (self.points ** 2).sum(1)

    def add(self, samples: torch.Tensor) -> None:
        """Fold ``logsumexp_i(−‖x − s_i‖² / 2σ²)`` over this chunk's samples into the running sums."""
        s = samples.flatten(1).to(self.points.device, torch.float64)
        sq_s = (s ** 2).sum(1)
        scale = (-0.5 / self.sigmas ** 2).float()
        for start in range(0, len(self.points), self.batch):
            x = self.points[start:start + self.batch]
            dist = (self.sq_points[start:start + self.batch, None] + sq_s[None] - 2 * x @ s.T).clamp_min_(0)
            chunk = torch.logsumexp(dist.float()[:, None, :] * scale[:, None], dim=2)   # (batch, sigmas)
            self.lse[start:start + self.batch] = torch.logaddexp(self.lse[start:start + self.batch], chunk.double())
        self.count += len(s)

    def result(self) -> dict[str, float]:
        """σ with the best mean validation log-likelihood; the test mean and its standard error
        at that σ (nats per example)."""
        if self.count == 0:
            raise ValueError("no samples were added")
        dim = self.points.shape[1]
        ll = self.lse - math.log(self.count) - 0.5 * dim * torch.log(2 * math.pi * self.sigmas ** 2)
        best = int(ll[:self.n_valid].mean(0).argmax())
        test = ll[self.n_valid:, best]
        se = float(test.std() / math.sqrt(len(test))) if len(test) > 1 else 0.0
        return {"parzen_log_likelihood": float(test.mean()), "parzen_log_likelihood_se": se,
                "parzen_sigma": float(self.sigmas[best])}
