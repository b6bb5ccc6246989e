"""Generative adversarial networks: ``gan`` (dense, Goodfellow et al. 2014), ``dcgan`` (Radford et al.
2016), ``lapgan`` (Denton et al. 2015, a Laplacian pyramid of conditional GANs) and ``gan2d`` (2-D
toy data, to watch the two players move).

- :mod:`engines.gan.spec`: the four models declared (configs, views; no torch);
- :mod:`engines.gan.model`: the ``nn.Module`` networks, the three losses and the pyramid;
- :mod:`engines.gan.engine`: the training core every GAN engine shares (players, losses, live
  learning rates and betas, one-player steps, scalars, state);
- :mod:`engines.gan.image_engine`: what the image GANs share (data, fixed-noise samples,
  interpolation, metrics);
- the engines: :mod:`engines.gan.gan_engine`, :mod:`engines.gan.dcgan_engine`,
  :mod:`engines.gan.lapgan_engine` and :mod:`engines.gan.gan2d_engine` (with
  :mod:`engines.gan.points`, its data);
- :mod:`engines.gan.frames`: the family's frame kinds (NumPy only).
"""
