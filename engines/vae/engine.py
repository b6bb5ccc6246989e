"""What the dense and the convolutional VAE engines share: config fields, training step, views and
frames, display calls, evaluation and state. A subclass says how to build its :class:`VAE`.

Training maximises the one-sample ELBO with the KL term weighted by ``β = min(1, step / warmup)``
(KL warm-up; β = 1 without one); the scalars are the true ELBO (β = 1), its reconstruction term
``E_q[log p(x|z)]`` and ``KL(q(z|x) || N(0, I))``, in nats per image (``elbo = recon − kl``).

The latent plane every picture shares: for a 2-D latent, the latent itself; for more dimensions
either two chosen dimensions (``grid_plane=dims``, the others at the test posterior means' mean) or
the two principal directions of the test posterior means (``grid_plane=pca``). A point ``(x, y)``
of the plane is the latent ``z = a + x·b₁ + y·b₂`` (``a`` the plane's anchor, ``b`` its orthonormal
axes), and a posterior mean ``μ`` has plane coordinates ``((μ − a)·b₁, (μ − a)·b₂)``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from engines.core.config import ConfigError
from engines.core.distributed import data_parallel
from engines.core.engine import BatchSampler, NetworkEngine, bernoulli, wants
from engines.core.frames import ImageGrid, image_array
from engines.core.loops import great_circle
from engines.data.base import DataError, ImageDataset
from engines.vae.frames import Drawing, LatentGrid, LatentScatter, LatentStats
from engines.vae.model import VAE, importance_bounds, standard_normal_ppf

ACTIVE_THRESHOLD = 0.01      # a dimension is active when Cov_x(E_q[z_d]) exceeds this (Burda et al.)
EVAL_FLOATS = 2 ** 25        # IWAE: at most this many floats (128 MB) of decoder activations at once
PROBE_LIMIT = 10.0           # probe coordinates are clamped to ±this
TRAVERSAL_DIMS = 10          # traversals show at most this many (the most active) dimensions
TRAVERSAL_STEPS = 11         # values from −3 to 3
MORPH_STEPS = 10
DRAW_SIZE = 28               # the drawing canvas the studio's panel sends
MAX_DRAWING = 256            # the largest drawing side accepted
ACCELERATOR_REPORT_EVERY = 10   # off the CPU, scalars are averaged and reported every this many steps


def resize_images(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, size) bilinear (antialiased when shrinking), clamped to [0, 1]."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    shrink = size[0] < images.shape[-2] or size[1] < images.shape[-1]
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=shrink).clamp(0, 1)


class VAEEngineBase(NetworkEngine):
    """A VAE on images: subclasses name their spec and implement :meth:`build_model`."""

    runs_under_torchrun = True

    def __init__(self, config, data, device, seed: int = 0):
        super().__init__(config, data, device, seed)
        self.check_config(config)
        self.shape = data.shape
        self.model = self.build_model().to(device)
        self.binary = self.model.likelihood.binary
        self.n_latent = config.latent_dim
        train_mean = torch.from_numpy(data.train.reshape(len(data.train), -1).mean(0)).to(device)
        self.model.decoder.init_output_bias(train_mean)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.train_elbo = data_parallel(self.model, "elbo_terms")
        self.batches = BatchSampler(data.train, device, self.rng)
        test = data.test_binary if self.binary else data.test
        self.test_x = torch.from_numpy(test.reshape(len(test), -1)).to(device)
        self.test_labels = (np.full(len(test), -1, np.int64) if data.test_labels is None
                            else np.asarray(data.test_labels, dtype=np.int64))
        self.report_every = 1 if device.type == "cpu" else ACCELERATOR_REPORT_EVERY
        self._sums = torch.zeros(3, device=device)
        self._summed = 0
        # Display state: its own generator, fixed prior noise, the probe point and the drawing. None
        # of it is in the state dict, so loading the training state never wipes it.
        self.display_generator = torch.Generator(device=device).manual_seed(seed + 2)
        self.prior_noise = torch.randn(64, self.n_latent, generator=self.display_generator, device=device)
        self.recon_index = torch.linspace(0, len(test) - 1, 16, device=device).long()
        self.probe = np.zeros(2, dtype=np.float32)
        first = torch.from_numpy(data.test[:1]).to(device).mean(1, keepdim=True)
        self.drawing = resize_images(first, (DRAW_SIZE, DRAW_SIZE))[0, 0].cpu().numpy()
        self._drawing_version = 0
        self._loop_noise = None          # the samples loop's second end, drawn when first animated
        self._memo: dict[str, tuple[tuple, object]] = {}

    # ------------------------------------------------------------------------------ building
    def build_model(self) -> VAE:
        """The :class:`VAE` for images of ``self.shape`` and ``self.config`` (each engine its own)."""
        raise NotImplementedError

    def check_config(self, config) -> None:
        """Refuse a config whose latent plane does not exist (ConfigError, one line)."""
        if config.latent_dim > 2 and config.grid_plane == "dims":
            dims = config.grid_dims
            if len(dims) != 2 or dims[0] == dims[1] or max(dims) >= config.latent_dim:
                raise ConfigError(f"grid_dims must be two different latent dimensions below latent_dim="
                                  f"{config.latent_dim}, got {','.join(map(str, dims))}")

    def set_live(self, name: str, value) -> None:
        previous = self.config
        super().set_live(name, value)
        try:
            self.check_config(self.config)
        except ConfigError:
            self.config = previous
            raise

    # ------------------------------------------------------------------------------ training
    def kl_weight(self) -> float:
        warmup = self.config.warmup
        return 1.0 if warmup <= 0 else min(1.0, (self.step + 1) / warmup)

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        x = self.batches.next(cfg.batch_size)
        if self.binary:
            x = bernoulli(x, self.generator)
        eps = torch.randn(x.shape[0], self.n_latent, generator=self.generator, device=self.device)
        log_px, kl = self.train_elbo(x, eps)
        recon, kl = log_px.mean(), kl.sum(1).mean()
        loss = self.kl_weight() * kl - recon
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        self._sums += torch.stack([recon - kl, recon, kl]).detach()
        self._summed += 1
        if self.step % self.report_every:
            return {}
        elbo, recon, kl = (self._sums / self._summed).tolist()    # the one GPU sync of a report
        self._sums.zero_()
        self._summed = 0
        return {"elbo": elbo, "recon": recon, "kl": kl}

    @torch.no_grad()
    def monitor(self) -> dict[str, float]:
        """Active units and the largest per-dimension KL on the test set (one encoder pass)."""
        post = self.test_posterior()
        return {"active_units": float(post["active"]), "kl_dim_max": float(post["kl_dim"].max())}

    @torch.no_grad()
    def test_posterior(self) -> dict:
        """``q(z|x)`` of the test images and what the pictures derive from it, cached per step:
        means ``mu`` and log-variances, per-dimension KL and activity, the latent plane."""
        return self._cached("posterior", (self.config.grid_plane, self.config.grid_dims), self._make_posterior)

    def _make_posterior(self) -> dict:
        mus, logvars = zip(*(self.model.encode(x) for x in self.test_x.split(1024)))
        mu, logvar = torch.cat(mus), torch.cat(logvars)
        kl_dim = (0.5 * (mu.square() + logvar.exp() - 1 - logvar)).mean(0)
        activity = mu.var(0, unbiased=False) if len(mu) > 1 else torch.zeros_like(kl_dim)
        mean = mu.mean(0)
        anchor, axes, scale, plane = self._plane(mu, mean)
        return {"mu": mu, "logvar": logvar, "kl_dim": kl_dim, "activity": activity,
                "active": int((activity > ACTIVE_THRESHOLD).sum()), "mean": mean,
                "anchor": anchor, "axes": axes, "scale": scale, "plane": plane,
                "coords": (mu - anchor) @ axes.t()}

    def _plane(self, mu: torch.Tensor, mean: torch.Tensor):
        """(anchor a (L,), axes b (2, L), grid scale per axis (2,), name) of the latent plane."""
        n, cfg, dev = self.n_latent, self.config, self.device
        eye = torch.eye(n, device=dev)
        ones = torch.ones(2, device=dev)
        if n <= 2:
            axes = torch.cat([eye, torch.zeros(2 - n, n, device=dev)])
            return torch.zeros(n, device=dev), axes, ones, " × ".join(f"z{d}" for d in range(n))
        if cfg.grid_plane == "dims":
            d1, d2 = cfg.grid_dims
            axes = eye[[d1, d2]]
            anchor = mean - (mean @ axes.t()) @ axes
            return anchor, axes, ones, f"z{d1} × z{d2}"
        centred = mu - mean
        cov = centred.t() @ centred / max(1, len(mu))
        values, vectors = torch.linalg.eigh(cov)                  # ascending eigenvalues
        axes = vectors[:, [-1, -2]].t().contiguous()
        sign = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))
        axes = axes * sign                                        # largest component positive: no flips
        scale = values[[-1, -2]].clamp_min(1e-6).sqrt()
        return mean, axes, scale, "PC1 × PC2"

    def plane_latent(self, post: dict, xy: torch.Tensor) -> torch.Tensor:
        """Plane coordinates (N, 2) -> latent points (N, L): ``z = a + x·b₁ + y·b₂``."""
        return post["anchor"] + xy @ post["axes"]

    # ------------------------------------------------------------------------------ display calls
    def set_probe(self, x: float, y: float) -> tuple[float, float]:
        """Move the probe point to plane coordinates (x, y) (clamped to ±10); returns where it went.
        Display state only: the next ``latent_scatter`` frame carries its decoding."""
        try:
            xy = np.array([float(x), float(y)], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"set_probe needs two numbers, got {x!r}, {y!r}") from None
        if not np.isfinite(xy).all():
            raise ValueError(f"set_probe needs finite coordinates, got {x!r}, {y!r}")
        self.probe = np.clip(xy, -PROBE_LIMIT, PROBE_LIMIT).astype(np.float32)
        return float(self.probe[0]), float(self.probe[1])

    def encode_drawing(self, pixels) -> None:
        """Take a drawn image (H, W) with values in [0, 1] (clipped) as the picture to encode; the
        next ``draw`` frame shows its posterior and reconstruction. Display state only."""
        try:
            array = np.asarray(pixels, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError("encode_drawing needs a 2-D array of pixel values") from None
        if array.ndim != 2 or not (1 <= array.shape[0] <= MAX_DRAWING and 1 <= array.shape[1] <= MAX_DRAWING):
            raise ValueError(f"encode_drawing needs an image of at most {MAX_DRAWING}x{MAX_DRAWING} pixels, "
                             f"got shape {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError("encode_drawing needs finite pixel values")
        self.drawing = np.clip(array, 0.0, 1.0).copy()
        self._drawing_version += 1

    # ------------------------------------------------------------------------------ frames
    def _cached(self, name: str, key: tuple, make):
        """``make()`` unless it was made at this step with the same ``key`` (dragging the probe
        over a paused run then re-decodes only what depends on the probe)."""
        key = (self.step, *key)
        hit = self._memo.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = make()
        self._memo[name] = (key, value)
        return value

    @torch.no_grad()
    def frames(self, wanted=None):
        cfg = self.config
        plane_key = (cfg.grid_plane, cfg.grid_dims)
        probe_key = (*plane_key, *self.probe.tolist())
        makers = {
            "latent_grid": ((*plane_key, cfg.grid_size, cfg.grid_span, cfg.grid_centre,
                             *(self.probe.tolist() if cfg.grid_centre == "probe" else ())), self._latent_grid),
            "latent_scatter": ((*probe_key, self._drawing_version), self._latent_scatter),
            "draw": ((self._drawing_version,), self._draw),
            "traversals": (probe_key, self._traversals),
            "morph": ((cfg.morph_from, cfg.morph_to), self._morph),
            "latent_stats": ((), self._latent_stats),
            "reconstructions": ((), self._reconstructions),
            "samples": ((), self._samples),
        }
        return [self._cached(name, key, make) for name, (key, make) in makers.items() if wants(wanted, name)]

    def images(self, flat: torch.Tensor) -> np.ndarray:
        return image_array(flat, self.shape)

    def _latent_grid(self, shift: tuple[float, float] = (0.0, 0.0)) -> LatentGrid:
        """The plane's grid, decoded in one batch: offsets ``span · Φ⁻¹(linspace(.05, .95, n))``
        (times the test means' spread along principal directions) around the chosen centre, moved by
        ``shift`` (in the same spread units)."""
        cfg, post = self.config, self.test_posterior()
        n = cfg.grid_size
        quantiles = standard_normal_ppf(torch.linspace(0.05, 0.95, n, device=self.device)) * cfg.grid_span
        centre = {"origin": torch.zeros(self.n_latent, device=self.device), "mean": post["mean"],
                  "probe": self.plane_latent(post, torch.from_numpy(self.probe).to(self.device)[None])[0]}
        centre_xy = (centre[cfg.grid_centre] - post["anchor"]) @ post["axes"].t()
        centre_xy = centre_xy + torch.tensor(shift, device=self.device) * post["scale"]
        xs = centre_xy[0] + quantiles * post["scale"][0]
        ys = centre_xy[1] + quantiles.flip(0) * post["scale"][1]
        if self.n_latent == 1:
            ys = centre_xy[1:2]
        grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], -1).reshape(-1, 2)
        images = self.images(self.model.mean_image(self.plane_latent(post, grid)))
        return LatentGrid("latent_grid", self.step, images, columns=len(xs),
                          xs=xs.cpu().numpy().astype(np.float32), ys=ys.cpu().numpy().astype(np.float32),
                          plane=post["plane"])

    def _probe_latent(self, post: dict) -> torch.Tensor:
        return self.plane_latent(post, torch.from_numpy(self.probe).to(self.device)[None])

    def _latent_scatter(self) -> LatentScatter:
        """The test means and the drawing's mean ``μ`` in plane coordinates ``(μ − a)·bᵀ``."""
        post = self.test_posterior()
        image = self.images(self.model.mean_image(self._probe_latent(post)))[0]
        drawn = (self._drawing_posterior()[0][0] - post["anchor"]) @ post["axes"].t()
        return LatentScatter("latent_scatter", self.step, post["coords"].cpu().numpy().astype(np.float32),
                             self.test_labels.copy(), self.probe.copy(), image, post["plane"],
                             drawn.cpu().numpy().astype(np.float32))

    def _drawing_posterior(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z | drawing)``: (μ, log σ²) of the drawing resized to the model's images, each (1, L)."""
        c, h, w = self.shape
        pixels = torch.from_numpy(self.drawing).to(self.device)[None, None]
        x = resize_images(pixels, (h, w)).expand(1, c, h, w).reshape(1, -1)
        return self.model.encode(x)

    def _draw(self) -> Drawing:
        mu, logvar = self._drawing_posterior()
        recon = self.images(self.model.mean_image(mu))[0]
        return Drawing("draw", self.step, self.drawing.copy(), recon, mu[0].cpu().numpy().astype(np.float32),
                       (0.5 * logvar[0]).exp().cpu().numpy().astype(np.float32))

    def _traversals(self) -> ImageGrid:
        """One row per dimension (the most active first, at most 10): ``z_d`` from −3 to 3, the other
        dimensions at the probe point's latent; decoded in one batch."""
        values = torch.linspace(-3, 3, TRAVERSAL_STEPS, device=self.device)
        return ImageGrid("traversals", self.step, self._traversed(values), columns=TRAVERSAL_STEPS, reflow=False)

    def _traversed(self, values: torch.Tensor) -> np.ndarray:
        """Decodings of the probe's latent with ``z_d`` set to each of ``values``, for each of the
        most active dimensions d (at most 10): (dims × values) images, one dimension after another."""
        post = self.test_posterior()
        dims = torch.argsort(post["kl_dim"], descending=True)[:TRAVERSAL_DIMS]
        z = self._probe_latent(post).repeat(len(dims) * len(values), 1).view(len(dims), len(values), -1)
        z[torch.arange(len(dims), device=self.device), :, dims] = values
        return self.images(self.model.mean_image(z.view(-1, self.n_latent)))

    def _morph(self) -> ImageGrid:
        """Test image i, the decodings of ``(1 − t)·μ_i + t·μ_j`` for t from 0 to 1, test image j."""
        post, n = self.test_posterior(), len(self.test_x)
        i, j = self.config.morph_from % n, self.config.morph_to % n
        t = torch.linspace(0, 1, MORPH_STEPS, device=self.device)[:, None]
        z = (1 - t) * post["mu"][i] + t * post["mu"][j]
        row = torch.cat([self.test_x[i:i + 1], self.model.mean_image(z), self.test_x[j:j + 1]])
        return ImageGrid("morph", self.step, self.images(row), columns=MORPH_STEPS + 2, reflow=False)

    def _latent_stats(self) -> LatentStats:
        post = self.test_posterior()
        return LatentStats("latent_stats", self.step, post["kl_dim"].cpu().numpy().astype(np.float32),
                           post["activity"].cpu().numpy().astype(np.float32), ACTIVE_THRESHOLD)

    def _reconstructions(self) -> ImageGrid:
        x = self.test_x[self.recon_index]
        mu, _ = self.model.encode(x)
        return ImageGrid("reconstructions", self.step, self.images(torch.cat([x, self.model.mean_image(mu)])),
                         columns=len(x), reflow=False)

    def _samples(self) -> ImageGrid:
        return ImageGrid("samples", self.step, self.images(self.model.mean_image(self.prior_noise)), columns=8)

    # ------------------------------------------------------------------------------ loops (View.loop)
    @torch.no_grad()
    def samples_loop(self, phase: float) -> ImageGrid:
        """The samples' fixed prior noise n₁ carried round a great circle with a second fixed draw
        n₂: ``z = n₁ cos 2πφ + n₂ sin 2πφ``, a prior draw at every φ (:func:`great_circle`)."""
        if self._loop_noise is None:
            generator = torch.Generator(device=self.device).manual_seed(self.seed + 5)
            self._loop_noise = torch.randn(self.prior_noise.shape, generator=generator, device=self.device)
        z = great_circle(self.prior_noise, self._loop_noise, phase)
        return ImageGrid("samples", self.step, self.images(self.model.mean_image(z)), columns=8)

    @torch.no_grad()
    def latent_grid_walk(self, phase: float) -> LatentGrid:
        """The latent grid with its centre walking once round a circle of radius one spread (the grid's
        unit: on a principal-component plane one standard deviation of the test means along each
        axis, else one latent unit), from the grid as shown and back: a pan through the plane."""
        angle = 2 * math.pi * phase
        return self._latent_grid((math.cos(angle) - 1, math.sin(angle)))

    @torch.no_grad()
    def traversals_sweep(self, phase: float) -> ImageGrid:
        """Each of the most active dimensions swept at once: ``z_d = 3 sin 2πφ``, the other dimensions
        at the probe's latent, one picture per dimension (the traversals' rows, played instead of
        laid out)."""
        value = torch.tensor([3 * math.sin(2 * math.pi * phase)], device=self.device)
        return ImageGrid("traversals", self.step, self._traversed(value), columns=TRAVERSAL_DIMS)

    # ------------------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Held-out ELBO and IWAE bound (nats per test image; on ``data.test_binary`` for a Bernoulli
        decoder), both from the same ``iwae_k`` importance samples per image, so ``iwae_nll ≤ −elbo``;
        active units on the test set. Memory stays bounded whatever k (see :func:`importance_bounds`)."""
        k = self.config.iwae_k
        rows = max(1, EVAL_FLOATS // (4 * self.model.decoder.floats_per_sample))
        generator = torch.Generator(device=self.device).manual_seed(self.seed + 3)
        iwae, elbo = importance_bounds(self.model, self.test_x, k, generator, rows)
        return {"elbo": float(elbo.mean()), "iwae_nll": float(-iwae.mean()), "iwae_k": k,
                "active_units": self.test_posterior()["active"], "latent_dim": self.n_latent}

    # ------------------------------------------------------------------------------ state
    def load_state_dict(self, state: dict) -> None:
        """Training state only: the probe, the drawing and the fixed noise stay as they are."""
        super().load_state_dict(state)
        self._memo.clear()


def binary_digits_only(dataset: ImageDataset, spec: str, model: str) -> ImageDataset:
    """``dataset`` with one channel if its images are grey (all channels equal); a DataError naming
    a model that fits otherwise."""
    if dataset.train.shape[1] == 1:
        return dataset
    for split in (dataset.train, dataset.test):
        if not np.allclose(split, split[:, :1], atol=1.5 / 255):
            raise DataError(f"'{spec}' holds colour images; {model} models black-and-white images with a "
                            f"Bernoulli decoder: use conv-vae --set grey=false for colour")
    return ImageDataset(dataset.name, np.ascontiguousarray(dataset.train[:, :1]),
                        np.ascontiguousarray(dataset.test[:, :1]), dataset.train_labels, dataset.test_labels)


__all__ = ["VAEEngineBase", "binary_digits_only", "resize_images"]
