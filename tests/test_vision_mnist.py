from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from emergence_lens.experiments.vision_mnist import subset_records  # noqa: E402
from emergence_lens.metrics import exact_match, subset_accuracy, token_edit_distance  # noqa: E402
from emergence_lens.vision.lenet import CNNInterrupted, CNNRecipe, CNNSize, predict, train_lenet  # noqa: E402


def test_set_records_encode_subset_accuracy_and_misclassification_count():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 20)
    preds = np.where(rng.random(20) < 0.7, labels, (labels + 1) % 10)
    rec = subset_records(labels, preds, model="m", scale=10.0, sizes=(1, 4, 5))
    for L in (1, 4, 5):
        g = rec[rec.task == f"mnist-L{L}"]
        assert len(g) == 20 // L
        em = exact_match(g.target, g.prediction)
        assert em.tolist() == subset_accuracy(labels, preds, subset_size=L).tolist()
        ted = token_edit_distance(g.target, g.prediction, tokenizer="whitespace")
        wrong = (labels != preds).reshape(-1, L).sum(axis=1)
        assert ted.tolist() == wrong.tolist()
    with pytest.raises(ValueError, match="sets of 3"):
        subset_records(labels, preds, model="m", scale=1.0, sizes=(3,))


def test_lenet_training_resumes_to_the_same_weights(tmp_path):
    from safetensors.numpy import load_file

    rng = np.random.default_rng(1)
    x = rng.random((64, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    size, recipe = CNNSize("lenet-01", 1, 2, 4), CNNRecipe(epochs=3, batch_size=16)
    train_lenet(size, recipe, x, y, tmp_path / "a")
    with pytest.raises(CNNInterrupted):
        train_lenet(size, recipe, x, y, tmp_path / "b", stop_after=2)
    assert (tmp_path / "b" / "checkpoint" / "state.pt").exists()
    train_lenet(size, recipe, x, y, tmp_path / "b")
    a, b = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-6, err_msg=k)
    assert np.array_equal(predict(size, tmp_path / "a", x), predict(size, tmp_path / "b", x))
