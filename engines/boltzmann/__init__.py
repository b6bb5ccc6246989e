"""Boltzmann machines: RBM (CD-k, PCD-k) and AIS for their partition function."""
