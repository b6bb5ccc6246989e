"""Boltzmann machines: RBM (CD-k, PCD-k), deep Boltzmann machines, and AIS for their partition functions."""
