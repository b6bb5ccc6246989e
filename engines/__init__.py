"""genstudio's engines: models, data, runner and run store, in PyTorch and NumPy only (never Qt)."""
