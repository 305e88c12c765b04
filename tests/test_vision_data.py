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


def test_cifar_standin_is_seeded_labelled_and_split_by_columns():
    from emergence_lens.vision.data import STANDIN_PHOTOS, load_cifar_standin

    tr, te = load_cifar_standin(300, 100, seed=5)
    assert tr.images.shape == (300, 32, 32, 3) and te.images.shape == (100, 32, 32, 3)
    assert tr.images.dtype == np.float32 and 0.0 <= tr.images.min() and tr.images.max() <= 1.0
    assert tr.stand_in and te.stand_in and "stand" in tr.name and tr.classes == STANDIN_PHOTOS
    assert set(np.unique(tr.labels)) <= set(range(len(STANDIN_PHOTOS)))
    again, _ = load_cifar_standin(300, 100, seed=5)
    assert again.images.tobytes() == tr.images.tobytes()
    other, _ = load_cifar_standin(300, 100, seed=6)
    assert other.images.tobytes() != tr.images.tobytes()
    # natural photos: neighbouring pixels are strongly correlated (noise would not be)
    a, b = tr.images[:, :, :-1].ravel(), tr.images[:, :, 1:].ravel()
    assert np.corrcoef(a, b)[0, 1] > 0.8
    # test patches never reuse training pixels: no test patch equals a training patch
    train_set = {p.tobytes() for p in tr.images} | {p[:, ::-1].tobytes() for p in tr.images}
    assert not any(p.tobytes() in train_set for p in te.images)


def test_glyph_standin_is_seeded_and_classes_differ():
    from emergence_lens.vision.glyphs import glyph_set, load_glyphs_standin, render_glyphs

    g = glyph_set()
    assert len(g) == 100 and len(set(g.names)) == 100
    ds = load_glyphs_standin(3, seed=1, glyphs=g)
    assert ds.images.shape == (300, 28, 28) and ds.stand_in and np.bincount(ds.labels).tolist() == [3] * 100
    assert 0.0 <= ds.images.min() and ds.images.max() == pytest.approx(1.0)
    assert load_glyphs_standin(3, seed=1, glyphs=g).images.tobytes() == ds.images.tobytes()
    # without jitter a class always renders the same; different classes render differently
    clean = render_glyphs(g, np.array([0, 0, 1]), np.random.default_rng(0), jitter=0.0)
    np.testing.assert_allclose(clean[0], clean[1])
    assert np.abs(clean[0] - clean[2]).mean() > 0.02
    # jitter makes two samples of one class differ, but less than two classes do on average
    noisy = render_glyphs(g, np.repeat(np.arange(10), 2), np.random.default_rng(0))
    same = np.mean([np.abs(noisy[2 * i] - noisy[2 * i + 1]).mean() for i in range(10)])
    diff = np.mean([np.abs(noisy[2 * i] - noisy[2 * i + 3]).mean() for i in range(9)])
    assert 0 < same < diff


def _omniglot_png(path, stroke_row):
    from PIL import Image

    img = np.full((105, 105), 255, dtype=np.uint8)
    img[stroke_row:stroke_row + 10, 20:80] = 0  # black stroke on white, as in Omniglot
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def test_omniglot_folder_and_zip(tmp_path):
    import zipfile

    from emergence_lens.vision.data import load_omniglot

    root = tmp_path / "images_background"
    for a, alphabet in enumerate(["Greek", "Armenian"]):
        for c in (1, 2):
            for drawer in (1, 2, 3):
                _omniglot_png(root / alphabet / f"character{c:02d}" / f"{c:04d}_{drawer:02d}.png", 10 + 30 * a + 10 * c)
    ds = load_omniglot(root)
    assert ds.images.shape == (12, 28, 28) and not ds.stand_in
    assert ds.classes == ("Armenian/character01", "Armenian/character02", "Greek/character01", "Greek/character02")
    assert np.bincount(ds.labels).tolist() == [3, 3, 3, 3]
    # inverted: strokes bright on a dark background
    assert ds.images.max() > 0.9 and np.median(ds.images) < 0.05
    zpath = tmp_path / "images_background.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in sorted(root.rglob("*.png")):
            z.write(f, f.relative_to(tmp_path).as_posix())
    dz = load_omniglot(zpath)
    assert dz.classes == ds.classes and dz.labels.tolist() == ds.labels.tolist()
    np.testing.assert_allclose(dz.images, ds.images)


def test_omniglot_errors_are_clear(tmp_path):
    from emergence_lens.vision.data import load_omniglot

    with pytest.raises(DatasetError, match="not bundled.*download=True"):
        load_omniglot(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no PNG files"):
        load_omniglot(tmp_path / "empty")
    bad = tmp_path / "bad" / "Greek" / "character01" / "x.png"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="Greek/character01/x.png is not a readable PNG"):
        load_omniglot(tmp_path / "bad")
    (tmp_path / "notzip.zip").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="not a zip file"):
        load_omniglot(tmp_path / "notzip.zip")
