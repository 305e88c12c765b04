"""Vision experiment pieces: label-set and sequence records, resumable training of the three ladders."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from emergence_lens.experiments.vision import (  # noqa: E402
    _split_per_class,
    build_sequences,
    reconstruction_records,
    sequence_records,
    set_records,
)
from emergence_lens.metrics import get_metric, per_item_accuracy, subset_accuracy  # noqa: E402
from emergence_lens.vision.autoencoder import AESize, reconstruct, reconstruction_errors, train_autoencoder  # noqa: E402
from emergence_lens.vision.data import ImageDataset  # noqa: E402
from emergence_lens.vision.lenet import CNNSize, predict, train_lenet  # noqa: E402
from emergence_lens.vision.seq_transformer import SeqSize, predict_sequences, train_seq_transformer  # noqa: E402
from emergence_lens.vision.training import Recipe, TrainingInterrupted  # noqa: E402


def test_set_records_score_as_subset_and_per_item_accuracy():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 20)
    preds = np.where(rng.random(20) < 0.7, labels, (labels + 1) % 10)
    rec = set_records(labels, preds, family="f", model="m", scale=10.0, task="mnist", sizes=(1, 4, 5))
    for L in (1, 4, 5):
        g = rec[rec.task == f"mnist-L{L}"]
        assert len(g) == 20 // L
        sub = get_metric("subset_accuracy").score_records(g)
        assert sub.tolist() == subset_accuracy(labels, preds, subset_size=L).tolist()
        item = get_metric("per_item_accuracy").score_records(g)
        np.testing.assert_allclose(item, per_item_accuracy(labels, preds).reshape(-1, L).mean(axis=1))
    with pytest.raises(ValueError, match="sets of 3"):
        set_records(labels, preds, family="f", model="m", scale=1.0, task="mnist", sizes=(3,))


def test_sequence_records_use_prefixes():
    labels = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    preds = np.array([[1, 2, 0, 4], [5, 6, 7, 8]])
    rec = sequence_records(labels, preds, family="t", model="m", scale=5.0, task="glyphs", sizes=(1, 2, 4))
    g = rec[rec.task == "glyphs-L4"]
    assert g.target.tolist() == ["1 2 3 4", "5 6 7 8"] and g.prediction.tolist() == ["1 2 0 4", "5 6 7 8"]
    assert get_metric("subset_accuracy").score_records(g).tolist() == [0.0, 1.0]
    assert get_metric("per_item_accuracy").score_records(g).tolist() == [0.75, 1.0]
    g2 = rec[rec.task == "glyphs-L2"]
    assert get_metric("subset_accuracy").score_records(g2).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="fewer than L = 5"):
        sequence_records(labels, preds, family="t", model="m", scale=5.0, task="g", sizes=(5,))


def test_reconstruction_records_feed_both_metrics():
    rec = reconstruction_records(np.array([0.0005, 0.0015, 0.01]), family="ae", model="m", scale=3.0, task="c")
    assert get_metric("mse").score_records(rec).tolist() == [0.0005, 0.0015, 0.01]
    assert get_metric("reconstruction_at[c=0.002]").score_records(rec).tolist() == [1.0, 1.0, 0.0]
    assert get_metric("reconstruction_at[c=0.001]").score_records(rec).tolist() == [1.0, 0.0, 0.0]


def test_sequences_draw_from_their_pool_only():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(6), 8)
    images = labels[:, None, None].astype(np.float32) * np.ones((1, 4, 4), np.float32)
    ds = ImageDataset(images + rng.random(images.shape).astype(np.float32) * 0.1, labels, "toy", "test")
    train, test = _split_per_class(labels, 0.25, rng)
    assert not set(train) & set(test) and len(train) + len(test) == len(labels)
    assert np.bincount(labels[test]).tolist() == [2] * 6
    x, y = build_sequences(ds, 30, 5, rng, test)
    assert x.shape == (30, 5, 4, 4) and y.shape == (30, 5)
    np.testing.assert_array_equal(np.floor(x[..., 0, 0]).astype(int), y)  # each image shows its label
    test_images = {ds.images[i].tobytes() for i in test}
    assert all(img.tobytes() in test_images for img in x.reshape(-1, 4, 4))


def _assert_same_weights(a_dir, b_dir):
    from safetensors.numpy import load_file

    a, b = load_file(str(a_dir / "model.safetensors")), load_file(str(b_dir / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-6, err_msg=k)


def _interrupt_then_resume(tmp_path, train):
    train(tmp_path / "a", None)
    with pytest.raises(TrainingInterrupted):
        train(tmp_path / "b", 2)
    assert (tmp_path / "b" / "checkpoint" / "state.pt").exists()
    assert not (tmp_path / "b" / "model.json").exists()
    train(tmp_path / "b", None)
    assert not (tmp_path / "b" / "checkpoint").exists()
    _assert_same_weights(tmp_path / "a", tmp_path / "b")


def test_lenet_training_resumes_to_the_same_weights(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.random((64, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    size, recipe = CNNSize("lenet-01", 1, 2, 4), Recipe(epochs=3, batch_size=16)
    _interrupt_then_resume(tmp_path, lambda d, stop: train_lenet(size, recipe, x, y, d, stop_after=stop))
    assert np.array_equal(predict(size, tmp_path / "a", x), predict(size, tmp_path / "b", x))


def test_autoencoder_training_resumes_and_reports_per_image_mse(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.random((48, 8, 8, 3)).astype(np.float32)
    size, recipe = AESize("ae-02", 3), Recipe(epochs=3, batch_size=16, lr=1e-2)
    _interrupt_then_resume(tmp_path, lambda d, stop: train_autoencoder(size, recipe, x, d, stop_after=stop))
    rec = reconstruct(size, tmp_path / "a", x)
    assert rec.shape == x.shape
    err = reconstruction_errors(size, tmp_path / "a", x)
    np.testing.assert_allclose(err, ((x - rec) ** 2).reshape(48, -1).mean(axis=1), rtol=1e-6)
    # the width is the scale: parameters = 2 * D * h + h + D
    import json

    assert json.loads((tmp_path / "a" / "model.json").read_text())["params"] == 2 * 192 * 3 + 3 + 192


def test_sequence_transformer_resumes_and_is_causal(tmp_path):
    import torch

    rng = np.random.default_rng(4)
    x = rng.random((40, 5, 28, 28)).astype(np.float32)
    y = rng.integers(0, 7, (40, 5))
    size, recipe = SeqSize("seq-01", 2, 8, 1, 2), Recipe(epochs=3, batch_size=8)
    _interrupt_then_resume(tmp_path, lambda d, stop: train_seq_transformer(size, recipe, x, y, 7, d,
                                                                           stop_after=stop))
    p = predict_sequences(size, tmp_path / "a", x, 7)
    assert p.shape == (40, 5) and p.min() >= 0 and p.max() < 7
    # causal: changing the last image cannot change earlier positions' logits
    from emergence_lens.vision.seq_transformer import _model
    from emergence_lens.vision.training import as_input, load_trained

    model = load_trained(lambda: _model(size, 7, 5, 28), tmp_path / "a")
    x2 = x.copy()
    x2[:, -1] = rng.random((40, 28, 28))
    with torch.no_grad():
        a, b = model(as_input(x, model)), model(as_input(x2, model))
    torch.testing.assert_close(a[:, :-1], b[:, :-1])
    assert not torch.allclose(a[:, -1], b[:, -1])
    with pytest.raises(ValueError, match="labels"):
        train_seq_transformer(size, recipe, x, y[:, :4], 7, tmp_path / "c")


@pytest.mark.parametrize("layout", ["ours", "torchvision"])
def test_vision_data_uses_real_datasets_found_in_data_dir(tmp_path, layout):
    import pickle

    from emergence_lens.experiments.vision import vision_data
    from tests.test_vision_data import _omniglot_png, _write_idx

    rng = np.random.default_rng(0)
    mnist = tmp_path / ("mnist" if layout == "ours" else "MNIST/raw")
    mnist.mkdir(parents=True)
    for split, n in (("train", 30), ("t10k", 20)):
        _write_idx(mnist / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(mnist / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n))
    (tmp_path / "cifar-100-python").mkdir()
    for split, n in (("train", 6), ("test", 4)):
        (tmp_path / "cifar-100-python" / split).write_bytes(pickle.dumps(
            {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"fine_labels": list(range(n))}))
    for c in (1, 2):
        for k in (1, 2):
            _omniglot_png(tmp_path / ("omniglot" if layout == "ours" else "omniglot-py") / "images_background"
                          / "Greek" / f"character{c:02d}" / f"{k}.png", 20 * c)
    data = vision_data(quick=True, seed=0, data_dir=tmp_path)
    assert (len(data.mnist_train), len(data.mnist_test)) == (30, 20) and data.mnist_train.name == "mnist-train"
    assert (len(data.cifar_train), len(data.cifar_test)) == (6, 4) and not data.cifar_train.stand_in
    assert data.chars.name == "omniglot" and len(data.chars) == 4 and not data.chars.stand_in
    # without a data_dir: the embedded defaults, stand-ins marked as such
    default = vision_data(quick=True, seed=0)
    assert default.mnist_test.name == "mnist-5k" and len(default.mnist_test) == 1000
    assert default.cifar_train.stand_in and default.chars.stand_in
