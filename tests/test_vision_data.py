from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from emergence_lens.vision.data import (
    DatasetError,
    load_cifar100_python,
    load_mnist_embedded,
    load_mnist_idx,
    load_torchvision,
    read_idx,
    restricted_load,
)


def test_embedded_mnist_is_real_mnist_subset():
    ds = load_mnist_embedded()
    assert ds.images.shape == (5000, 28, 28) and ds.images.dtype == np.float32
    assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0
    assert np.bincount(ds.labels).tolist() == [500] * 10
    # digits are dark background with bright strokes in the centre
    assert ds.images[:, 10:18, 10:18].mean() > 5 * ds.images[:, :3, :].mean()
    assert not ds.stand_in


def _write_idx(path, arr, gz=False):
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files(tmp_path, gz):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(7, 28, 28))
    labels = rng.integers(0, 10, size=7)
    suffix = ".gz" if gz else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", imgs, gz)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, gz)
    ds = load_mnist_idx(tmp_path, "test")
    np.testing.assert_allclose(ds.images * 255, imgs)
    assert ds.labels.tolist() == labels.tolist()
    with pytest.raises(DatasetError, match="train-images"):
        load_mnist_idx(tmp_path, "train")


def test_idx_errors_name_the_file(tmp_path):
    p = tmp_path / "x-idx3-ubyte"
    p.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 28, 28) + b"\x00" * 100)
    with pytest.raises(DatasetError, match=f"{p}: expected 1568 bytes"):
        read_idx(p)
    p.write_bytes(b"PK\x03\x04junk")
    with pytest.raises(DatasetError, match="bad magic"):
        read_idx(p)


def test_cifar100_python_format_with_restricted_unpickler(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(5, 3072), dtype=np.uint8)
    (tmp_path / "train").write_bytes(pickle.dumps(
        {b"data": data, b"fine_labels": [3, 1, 4, 1, 5], b"coarse_labels": [0, 0, 1, 1, 2],
         b"filenames": [b"a.png"] * 5}, protocol=2))
    ds = load_cifar100_python(tmp_path, "train")
    assert ds.images.shape == (5, 32, 32, 3)
    # channel-major rows: red plane first
    assert ds.images[0, 0, 0, 0] == pytest.approx(data[0, 0] / 255)
    assert ds.images[0, 0, 0, 1] == pytest.approx(data[0, 1024] / 255)
    assert ds.labels.tolist() == [3, 1, 4, 1, 5]


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_unpickler_refuses_code(tmp_path):
    p = tmp_path / "train"
    p.write_bytes(pickle.dumps({b"data": _Evil()}))
    with pytest.raises(DatasetError, match="refusing to load"):
        restricted_load(p)
    p.write_bytes(pickle.dumps({"data": 1})[:-3])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        restricted_load(p)


def test_torchvision_is_optional_and_never_downloads_silently(tmp_path):
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(DatasetError, match="torchvision is not installed"):
            load_torchvision("MNIST", tmp_path)
        return
    with pytest.raises(DatasetError, match="download=True"):
        load_torchvision("MNIST", tmp_path)
