"""What the image GANs (``gan``, ``dcgan``, ``lapgan``) share on top of the training core: data in
[−1, 1] at the configured size, the fixed-noise sample grid, the latent interpolation strip, the
live collapse indicator and the held-out metrics.

Metrics (``evaluate``), from ``eval_samples`` generated images:

- ``parzen_log_likelihood`` (± ``_se``, at ``parzen_sigma``): Goodfellow et al. 2014's Gaussian
  Parzen window on the pixels in [0, 1], σ chosen on 500 training digits (every 9th: all classes),
  reported on the 500 test digits (nats per image);
- on the embedded MNIST digits only (grey; resized to 28×28 for the classifier):
  ``frechet_distance`` between the project classifier's features of the samples and of the test
  digits, ``class_coverage`` (normalised entropy of the predicted classes, see
  :mod:`engines.metrics.distances`), ``classes_present`` (classes given ≥ 2 % of the samples) and
  ``classifier_accuracy`` (the classifier's own test accuracy). On other data they are left out
  and a warning (on stderr) says so.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from engines.core.engine import BatchSampler, wants
from engines.core.frames import ImageGrid, image_array
from engines.core.loops import great_circle, there_and_back
from engines.data.base import DataError, ImageDataset
from engines.gan.engine import GANEngine, evaluating
from engines.gan.frames import GANSamples
from engines.gan.spec import WATCH_SAMPLES

INTERP_ROWS = 6
INTERP_STEPS = 10
EVAL_CHUNK = 500


def fit_images(data: ImageDataset, size: int, grey: bool) -> ImageDataset:
    """``data`` at ``size``×``size`` (bilinear, antialiased) with 1 (grey) or 3 channels."""
    def fit(images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(images)
        if x.shape[1] == 3 and grey:
            x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        elif x.shape[1] == 1 and not grey:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return np.ascontiguousarray(x.clamp(0, 1).numpy(), dtype=np.float32)

    if data.shape == ((1 if grey else 3), size, size):
        return data
    return ImageDataset(data.name, fit(data.train), fit(data.test), data.train_labels, data.test_labels)


def is_digits(data: ImageDataset) -> bool:
    """The embedded MNIST digits (or torchvision's MNIST), grey: what the classifier knows."""
    return data.name in ("mnist", "torchvision:MNIST") and data.shape[0] == 1 and data.test_labels is not None


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight interpolation of rows, ``(1−t) a + t b``; ``t`` (T,) → (T, …)."""
    t = t.view(-1, *([1] * a.dim()))
    return (1 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of rows, ``(sin((1−t)ω) a + sin(tω) b) / sin ω`` with ω the angle
    between ``a`` and ``b`` (linear when they are nearly parallel); ``t`` (T,) → (T, …)."""
    fa, fb = a.flatten(), b.flatten()
    omega = torch.arccos((fa @ fb / (fa.norm() * fb.norm()).clamp_min(1e-12)).clamp(-1, 1))
    if float(omega) < 1e-4:
        return lerp(a, b, t)
    t = t.view(-1, *([1] * a.dim()))
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


class ImageGANEngine(GANEngine):
    """Base of the image GANs. Subclasses build their duels; a one-duel engine generates with
    ``duels[0]``, LAPGAN overrides :meth:`generate` and :meth:`real_batches`."""

    smoke_data = "mnist"                  # the digits the classifier knows: the sample checks run
    smoke_overrides = {"watch_every": 5}

    @classmethod
    def load_data(cls, spec: str, config) -> ImageDataset:
        from engines.data import load_dataset

        return fit_images(load_dataset(spec, size=config.image_size, grey=config.grey),
                          config.image_size, config.grey)

    def __init__(self, config, data: ImageDataset, device, seed: int = 0):
        if not isinstance(data, ImageDataset):
            raise DataError(f"{self.name} trains on images, not {type(data).__name__}")
        super().__init__(config, data, device, seed)
        self.shape = data.shape
        self.batches = BatchSampler(data.train * 2 - 1, device, self.rng)
        # Display state: its own generator, fixed noise drawn once (frames compare across time).
        self.display_generator = torch.Generator(device=device).manual_seed(seed + 2)
        self.fixed_noise = self.noise_batch(config.samples, self.display_generator)
        ends = [self.noise_batch(INTERP_ROWS, self.display_generator) for _ in range(2)]
        self.interp_noise = [self._interpolate(a, b) for a, b in zip(*ends)]
        watch_generator = torch.Generator(device=device).manual_seed(seed + 3)
        self.watch_noise = self.noise_batch(WATCH_SAMPLES, watch_generator)
        self.last_watch = 0
        self._loop_noise = None          # the interpolation loop's second end, drawn when first animated
        self._classifier = None
        self._test_features = None

    def _interpolate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """INTERP_ROWS rows of INTERP_STEPS noise vectors from ``a[r]`` to ``b[r]``: spherical
        for Gaussian noise (which lives near a sphere), straight for uniform noise."""
        t = torch.linspace(0, 1, INTERP_STEPS, device=a.device)
        mix = slerp if self.config.noise == "gaussian" else lerp
        return torch.cat([mix(a[r], b[r], t) for r in range(len(a))])

    # ------------------------------------------------------------------------------ data
    def real_batches(self, n: int):
        return [(self.batches.next(n).view(-1, *self.shape), None)]

    def generate(self, noise: list[torch.Tensor]) -> torch.Tensor:
        """Images in [−1, 1] from one noise tensor per duel (training mode as it is)."""
        return self.duels[0].generate(noise[0], None)

    @torch.no_grad()
    def sample(self, noise: list[torch.Tensor]) -> torch.Tensor:
        """Images in [0, 1] (N, C, H, W), generators in eval mode (batchnorm running statistics)."""
        with evaluating(*(duel.g for duel in self.duels)), self._autocast():
            return ((self.generate(noise).float() + 1) / 2).clamp_(0, 1)

    # ------------------------------------------------------------------------------ frames
    def frames(self, wanted=None):
        out = []
        if wants(wanted, "samples"):
            out.append(GANSamples("samples", self.step, image_array(self.sample(self.fixed_noise), self.shape),
                                  columns=8, d_updates=self.d_updates, g_updates=self.g_updates))
        if wants(wanted, "interpolation"):
            out.append(ImageGrid("interpolation", self.step, image_array(self.sample(self.interp_noise), self.shape),
                                 columns=INTERP_STEPS, reflow=False))
        return out

    # ------------------------------------------------------------------------------ loops (View.loop)
    def interpolation_loop(self, phase: float) -> ImageGrid:
        """The samples' fixed noise carried round a closed path with a second fixed draw: a great
        circle ``z₁ cos 2πφ + z₂ sin 2πφ`` for Gaussian noise (a prior draw at every φ), there and back
        along the straight line for uniform noise (which a circle would carry out of its cube)."""
        if self._loop_noise is None:
            generator = torch.Generator(device=self.device).manual_seed(self.seed + 5)
            self._loop_noise = self.noise_batch(self.config.samples, generator)
        if self.config.noise == "gaussian":
            noise = [great_circle(a, b, phase) for a, b in zip(self.fixed_noise, self._loop_noise)]
        else:
            s = there_and_back(phase)
            noise = [(1 - s) * a + s * b for a, b in zip(self.fixed_noise, self._loop_noise)]
        return ImageGrid("interpolation", self.step, image_array(self.sample(noise), self.shape), columns=8)

    # ------------------------------------------------------------------------------ metrics
    def classifier(self):
        """The project's digit classifier on this engine's device (trained once per machine)."""
        if self._classifier is None:
            from engines.metrics.classifier import digit_classifier

            self._classifier = digit_classifier(self.device)
        return self._classifier

    def prepare_training(self) -> None:
        """The classifier of the sample checks, built on a first use before the first step."""
        if self.config.watch_every and is_digits(self.data):
            self.classifier()

    def _classifier_input(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] at the classifier's 28×28."""
        if images.shape[-1] != 28:
            images = F.interpolate(images, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
        return images

    @torch.no_grad()
    def test_features(self) -> np.ndarray:
        if self._test_features is None:
            model, _ = self.classifier()
            test = torch.from_numpy(self.data.test).to(self.device)
            self._test_features = model.features(self._classifier_input(test)).cpu().numpy()
        return self._test_features

    @torch.no_grad()
    def monitor(self) -> dict[str, float]:
        """Every ``watch_every`` steps, on digits: ``class_coverage`` and ``frechet_distance_256``
        of 256 samples from a fixed noise batch (a small sample: biased up, compare along a run)."""
        from engines.metrics.distances import class_coverage, frechet_distance

        every = self.config.watch_every
        if not every or self.step - self.last_watch < every or not is_digits(self.data):
            return {}
        self.last_watch = self.step
        model, _ = self.classifier()
        x = self._classifier_input(self.sample(self.watch_noise))
        features = model.features(x)
        predicted = model.out(features).argmax(1).cpu().numpy()
        return {"class_coverage": class_coverage(predicted),
                f"frechet_distance_{WATCH_SAMPLES}": frechet_distance(features.cpu().numpy(), self.test_features())}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        from engines.metrics.distances import ParzenEstimator, class_coverage, frechet_distance

        generator = torch.Generator(device=self.device).manual_seed(self.seed + 4)
        train = self.data.train
        valid = torch.from_numpy(train[::9][:500]).to(self.device)
        test = torch.from_numpy(self.data.test).to(self.device)
        parzen = ParzenEstimator(valid, test)
        digits = is_digits(self.data)
        model = self.classifier()[0] if digits else None
        features, predicted = [], []
        remaining = self.config.eval_samples
        while remaining > 0:
            n = min(EVAL_CHUNK, remaining)
            images = self.sample(self.noise_batch(n, generator))
            parzen.add(images)
            if model is not None:
                f = model.features(self._classifier_input(images))
                features.append(f.cpu().numpy())
                predicted.append(model.out(f).argmax(1).cpu().numpy())
            remaining -= n
        out = parzen.result()
        if model is None:
            warnings.warn(f"frechet_distance and class_coverage need the MNIST digits (grey); this run trains "
                          f"on {self.data.name}: only the Parzen-window log-likelihood is measured", stacklevel=3)
            return out
        predicted = np.concatenate(predicted)
        counts = np.bincount(predicted, minlength=10)
        out.update(frechet_distance=frechet_distance(np.concatenate(features), self.test_features()),
                   class_coverage=class_coverage(predicted),
                   classes_present=float((counts >= 0.02 * len(predicted)).sum()),
                   classifier_accuracy=self.classifier()[1])
        return out

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {**super().state_dict(), "batches": self.batches.state_dict(), "last_watch": self.last_watch}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.batches.load_state_dict(state["batches"])
        self.last_watch = int(state["last_watch"])

    PICTURE_PLAYERS = ("g",)          # samples, interpolations and pyramids come from the generators
