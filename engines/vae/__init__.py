"""Variational autoencoders: ``vae`` (dense) and ``conv-vae`` (convolutional), one engine base."""
