"""The deconvolutional generator (Dosovitskiy et al. 2015): chairs from class, view and transformation."""
