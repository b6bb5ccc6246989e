import pytest

from engines.data import load_dataset
from engines.registry import build_engine


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture
def small_rbm():
    """A fast RBM on the 8x8 digits: 32 hidden units, 16 shown chains."""
    def make(seed=0, **overrides):
        return build_engine("rbm", "digits", "cpu", seed, {"hidden": 32, "chains": 16, "ais_runs": 10, **overrides})
    return make

