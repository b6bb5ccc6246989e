"""Generative adversarial networks: ``gan`` (dense, Goodfellow et al. 2014), ``dcgan`` (Radford et al.
2016), ``lapgan`` (Denton et al. 2015, a Laplacian pyramid of conditional GANs) and ``gan2d`` (2-D
toy data, to watch the two players move).

- :mod:`engines.gan.models`: the ``nn.Module`` networks, the three losses and the pyramid;
- :mod:`engines.gan.base`: the training core every GAN engine shares (players, losses, live
  learning rates and betas, one-player steps, scalars, state);
- :mod:`engines.gan.images`: what the image GANs share (data, fixed-noise samples, interpolation,
  metrics); :mod:`engines.gan.dense`, :mod:`engines.gan.dcgan`, :mod:`engines.gan.lapgan` and
  :mod:`engines.gan.gan2d` (with :mod:`engines.gan.points`, its data) are the engines;
- :mod:`engines.gan.frames`: the family's frame kinds (NumPy only).
"""
