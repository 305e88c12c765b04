from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergence_lens import metrics as M
from emergence_lens.metrics import get_metric, list_metrics
from emergence_lens.metrics.edit_distance import levenshtein_reference


# ---------------------------------------------------------------- exact match
def test_exact_match_hand_values():
    got = M.exact_match([" 4275", "12", "abc", "x"], ["4275", "13", "ABC", ""])
    assert got.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert M.exact_match(["abc"], ["ABC"], ignore_case=True).tolist() == [1.0]
    assert M.exact_match([" 1"], ["1"], strip=False).tolist() == [0.0]


def test_exact_match_validation():
    with pytest.raises(ValueError, match="inconsistent lengths"):
        M.exact_match(["a"], ["a", "b"])
    with pytest.raises(ValueError, match=r"y_pred\[1\]"):
        M.exact_match(["a", "b"], ["a", None])
    with pytest.raises(TypeError):
        M.exact_match("abc", "abc")


# --------------------------------------------------------- token edit distance
def test_edit_distance_hand_values():
    assert M.token_edit_distance(["kitten"], ["sitting"]).tolist() == [3.0]
    assert M.token_edit_distance(["4275"], [""]).tolist() == [4.0]
    assert M.token_edit_distance(["the cat sat"], ["the dog sat down"],
                                 tokenizer="whitespace").tolist() == [2.0]
    assert M.token_edit_distance(["1234"], ["1243"], normalize=True).tolist() == [0.5]
    assert M.token_edit_distance([], []).size == 0


def test_edit_distance_callable_and_hf_style_tokenizer():
    def pairs(s):  # two-character tokens
        return [s[i:i + 2] for i in range(0, len(s), 2)]

    assert M.token_edit_distance(["aabbcc"], ["aaxxcc"], tokenizer=pairs).tolist() == [1.0]

    class FakeHF:  # calling a Hugging Face tokenizer returns a mapping with input_ids
        def __call__(self, s):
            return {"input_ids": [ord(ch) % 7 for ch in s]}

    assert M.token_edit_distance(["ab"], ["ab"], tokenizer=FakeHF()).tolist() == [0.0]
    with pytest.raises(ValueError, match="tokenizer"):
        M.token_edit_distance(["a"], ["b"], tokenizer="bpe")


def test_edit_distance_many_distinct_tokens_beyond_surrogates():
    # > 0xD800 distinct tokens exercises the code-point mapping past the surrogate block
    a = [" ".join(f"w{i}" for i in range(60000))]
    b = [" ".join(f"w{i}" for i in range(1, 60000))]
    assert M.token_edit_distance(a, b, tokenizer="whitespace").tolist() == [1.0]


words = st.lists(st.sampled_from(["a", "b", "c", "dd", "e"]), max_size=8).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(words, words, words)
def test_edit_distance_is_a_metric_and_matches_dp(x, y, z):
    d = lambda a, b: M.token_edit_distance([a], [b], tokenizer="whitespace")[0]  # noqa: E731
    assert d(x, x) == 0
    assert d(x, y) == d(y, x)
    assert d(x, z) <= d(x, y) + d(y, z)
    assert (d(x, y) == 0) == (x.split() == y.split())
    assert d(x, y) == levenshtein_reference(x.split(), y.split())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text("0123456789", max_size=8), st.text("0123456789", max_size=8)),
                min_size=1, max_size=20))
def test_edit_distance_characters_matches_dp_batch(pairs):
    t, p = zip(*pairs, strict=True)
    got = M.token_edit_distance(list(t), list(p), workers=2)
    assert got.tolist() == [levenshtein_reference(a, b) for a, b in pairs]


spaced = st.text(" 0123456789ab", max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(spaced, spaced), min_size=1, max_size=60), st.integers(1, 9),
       st.sampled_from(["characters", "whitespace", list]), st.booleans(), st.booleans())
def test_edit_distance_pipelined_chunks_equal_one_call(pairs, chunk, tokenizer, strip, normalize):
    """Large inputs on several workers go through rapidfuzz in chunks, overlapped with the Python-side
    pass (PIPELINE_CHUNK made tiny here): the same numbers as one call on one worker, for every
    tokenizer (one token vocabulary across chunks), with strip and normalize either way."""
    from emergence_lens.metrics import edit_distance as E

    t, p = (list(x) for x in zip(*pairs, strict=True))
    one = M.token_edit_distance(t, p, tokenizer=tokenizer, strip=strip, normalize=normalize, workers=1)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(E, "PIPELINE_CHUNK", chunk)
        chunked = M.token_edit_distance(t, p, tokenizer=tokenizer, strip=strip, normalize=normalize, workers=2)
        tup = M.token_edit_distance(tuple(t), tuple(p), tokenizer=tokenizer, strip=strip, normalize=normalize,
                                    workers=-1)
    assert chunked.tolist() == one.tolist() == tup.tolist()
    if not normalize and tokenizer == "characters":
        ref = [levenshtein_reference(a.strip() if strip else a, b.strip() if strip else b) for a, b in pairs]
        assert chunked.tolist() == ref


@pytest.mark.parametrize("strip", [True, False])
def test_edit_distance_pipelined_errors_name_the_index_in_the_whole_input(monkeypatch, strip):
    from emergence_lens.metrics import edit_distance as E

    monkeypatch.setattr(E, "PIPELINE_CHUNK", 4)
    t = [str(i) for i in range(30)]
    p = list(t)
    p[21] = None
    with pytest.raises(ValueError, match=r"y_pred\[21\] is missing"):
        M.token_edit_distance(t, p, workers=2, strip=strip)
    p[21] = 5
    with pytest.raises(TypeError, match=r"y_pred\[21\] is int"):
        M.token_edit_distance(t, p, workers=2, strip=strip)
    with pytest.raises(ValueError, match="inconsistent lengths"):
        M.token_edit_distance(t, t[:-1], workers=2, strip=strip)


# --------------------------------------------------------------- likelihood
def test_likelihood_hand_values():
    lp = [[np.log(0.5), np.log(0.25)], [np.log(0.9)]]
    assert M.target_log_likelihood(lp) == pytest.approx([np.log(0.125), np.log(0.9)])
    assert M.target_token_probability(lp) == pytest.approx([0.375, 0.9])
    assert M.target_token_probability(lp, mean="geometric") == pytest.approx([np.sqrt(0.125), 0.9])
    assert M.target_log_likelihood(np.log(np.full((2, 3), 0.5))) == pytest.approx([3 * np.log(0.5)] * 2)
    assert M.target_log_likelihood([[-np.inf, -1.0]])[0] == -np.inf


def test_likelihood_validation():
    with pytest.raises(ValueError, match=r"\[1\] is empty"):
        M.target_log_likelihood([[-1.0], []])
    with pytest.raises(ValueError, match="NaN"):
        M.target_token_probability([[-1.0], [np.nan]])
    with pytest.raises(ValueError, match="mean"):
        M.target_token_probability([[-1.0]], mean="harmonic")


# ---------------------------------------------------------- multiple choice
def test_multiple_choice_hand_values():
    lp = [np.log([0.7, 0.2, 0.1]), np.log([0.2, 0.8]), [-1.0, -1.0, -5.0]]
    correct = [0, 0, 1]
    assert M.multiple_choice_grade(lp, correct).tolist() == [1.0, 0.0, 0.5]
    # Brier by hand: (0.3^2 + 0.2^2 + 0.1^2), (0.8^2 + 0.8^2)
    b = M.brier_score(lp[:2], correct[:2])
    assert b == pytest.approx([0.14, 1.28])
    assert M.bigbench_brier_score(lp[:2], correct[:2]) == pytest.approx([0.14 / 3, 1.28 / 2])
    third = np.exp(-1.0) / (2 * np.exp(-1.0) + np.exp(-5.0))
    assert M.correct_choice_probability(lp, correct) == pytest.approx([0.7, 0.2, third])


def test_brier_uses_softmax_of_unnormalised_loglikelihoods():
    # summed log-likelihoods of continuations need not sum to 1: softmax normalises them
    lp = [[np.log(0.02), np.log(0.01), np.log(0.01)]]
    assert M.brier_score(lp, [0]) == pytest.approx([(1 - 0.5) ** 2 + 0.25 ** 2 * 2])
    assert M.choice_probabilities(lp)[0] == pytest.approx([0.5, 0.25, 0.25])
    # all options impossible -> uniform
    assert M.choice_probabilities([[-np.inf, -np.inf]])[0] == pytest.approx([0.5, 0.5])


def test_multiple_choice_validation():
    with pytest.raises(ValueError, match="out of range"):
        M.multiple_choice_grade([[-1.0, -2.0]], [2])
    with pytest.raises(ValueError, match="shape"):
        M.brier_score([[-1.0, -2.0]], [0, 1])
    with pytest.raises(ValueError, match="integer"):
        M.brier_score([[-1.0, -2.0]], [0.5])


choice_rows = st.integers(2, 6).flatmap(lambda k: st.tuples(
    st.lists(st.floats(-30, 0), min_size=k, max_size=k), st.integers(0, k - 1)))


@settings(max_examples=150, deadline=None)
@given(st.lists(choice_rows, min_size=1, max_size=10))
def test_brier_bounds_and_relations(rows):
    lp = [r[0] for r in rows]
    c = [r[1] for r in rows]
    k = np.array([len(r) for r in lp])
    b = M.brier_score(lp, c)
    assert np.all(b >= -1e-12) and np.all(b <= 2 + 1e-12)
    assert M.bigbench_brier_score(lp, c) == pytest.approx(b / k)
    g = M.multiple_choice_grade(lp, c)
    assert np.all((g >= 0) & (g <= 1))
    # a grade of 1 (unique argmax on the correct option) means q_correct > 1/K, so Brier < 2(1-1/K)
    q = M.choice_probabilities(lp)
    assert np.allclose(q.sum(axis=1), 1)


# ------------------------------------------------------- subset accuracy
def test_subset_accuracy_hand_values():
    t = [1, 2, 3, 4, 5, 6]
    p = [1, 2, 0, 4, 5, 6]
    assert M.per_item_accuracy(t, p).tolist() == [1, 1, 0, 1, 1, 1]
    assert M.subset_accuracy(t, p, subset_size=2).tolist() == [1.0, 0.0, 1.0]
    assert M.subset_accuracy(t, p, subset_size=3).tolist() == [0.0, 1.0]
    assert M.subset_accuracy(t, p, groups=["b", "a", "b", "a", "c", "c"]).tolist() == [0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="groups of 4"):
        M.subset_accuracy(t, p, subset_size=4)
    with pytest.raises(ValueError, match="exactly one"):
        M.subset_accuracy(t, p)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.05, 0.99), st.integers(1, 5))
def test_subset_accuracy_expectation_is_a_to_the_L(a, L):
    rng = np.random.default_rng(0)
    n = 20000 * L
    right = rng.random(n) < a
    t = np.zeros(n, dtype=int)
    p = np.where(right, 0, 1)
    est = M.subset_accuracy(t, p, subset_size=L).mean()
    assert est == pytest.approx(a ** L, abs=4 * np.sqrt(a ** L * (1 - a ** L) / 20000) + 1e-3)


# ------------------------------------------------------- reconstruction
def test_mse_and_reconstruction_hand_values():
    x = np.zeros((3, 2, 2))
    y = np.stack([np.zeros((2, 2)), np.full((2, 2), 0.1), np.array([[1.0, 0], [0, 0]])])
    assert M.mse(x, y) == pytest.approx([0.0, 0.01, 0.25])
    assert M.reconstruction_at(x, y, 0.02).tolist() == [1.0, 1.0, 0.0]
    assert M.reconstruction_at(x, y, 0.01).tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="shapes"):
        M.mse(x, y[:2])
    with pytest.raises(ValueError, match="threshold"):
        M.reconstruction_at(x, y, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        M.mse(x, np.full_like(x, np.nan))


def test_label_sequence_scores_hand_values():
    item, subset = M.label_sequence_scores(["1 2 3", "1 2 3", "4 5", "1 2", "7", "a b"],
                                           ["2 3 1", "1 2 4", "4 5", "1", "7 7", "a  b"])
    # a rotation is 3 wrong items (Hamming), though its edit distance is 2
    assert item.tolist() == pytest.approx([0.0, 2 / 3, 1.0, 0.5, 1.0, 1.0])
    assert subset.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    assert M.token_edit_distance(["1 2 3"], ["2 3 1"], tokenizer="whitespace").tolist() == [2.0]
    with pytest.raises(ValueError, match="row 1: target has no labels"):
        M.label_sequence_scores(["1", " "], ["1", "2"])
    with pytest.raises(TypeError, match="row 0"):
        M.label_sequence_scores([None], ["1"])


def test_reconstruction_threshold_metric_on_records():
    import pandas as pd

    rec = pd.DataFrame({"example_id": ["a", "b", "c"], "reconstruction_mse": [0.0, 0.01, 0.25]})
    spec = get_metric("reconstruction_at[c=0.0100]")
    assert spec.name == "reconstruction_at[c=0.01]" and get_metric("reconstruction_at[c=0.01]") is spec
    assert spec.partners == ("mse",) and spec.sharp and spec.binary and not spec.default
    # strict inequality: MSE exactly c does not count, as in 1[MSE < c]
    assert spec.score_records(rec).tolist() == [1.0, 0.0, 0.0]
    assert get_metric("reconstruction_at[c=0.02]").score_records(rec).tolist() == [1.0, 1.0, 0.0]
    assert get_metric("mse").score_records(rec).tolist() == [0.0, 0.01, 0.25]
    assert get_metric("mse").log_scale and "log scale" in get_metric("mse").kind
    with pytest.raises(KeyError, match="one parameter c"):
        get_metric("reconstruction_at[d=1]")
    with pytest.raises(KeyError, match="key=number"):
        get_metric("reconstruction_at[c=abc]")
    with pytest.raises(ValueError, match="finite and > 0"):
        get_metric("reconstruction_at[c=-1]")
    with pytest.raises(KeyError, match=r"parametrised: reconstruction_at\[...\]"):
        get_metric("exact_match[c=1]")


# ---------------------------------------------------------------- registry
def test_registry_properties_and_partners():
    names = {s.name for s in list_metrics()}
    assert {"exact_match", "token_edit_distance", "target_log_likelihood", "target_token_probability",
            "multiple_choice_grade", "brier_score", "bigbench_brier_score", "subset_accuracy",
            "per_item_accuracy", "reconstruction_at", "mse"} <= names
    sharp = {s.name for s in list_metrics() if s.sharp and "[" not in s.name}
    assert sharp == {"exact_match", "multiple_choice_grade", "subset_accuracy", "reconstruction_at"}
    for s in list_metrics():
        for p in s.partners:
            assert not get_metric(p).sharp, (s.name, p)
    assert get_metric("exact_match").partners[:2] == ("per_token_accuracy", "token_edit_distance")
    assert get_metric("multiple_choice_grade").partners[0] == "brier_score"
    assert get_metric("subset_accuracy").partners == ("per_item_accuracy",)
    assert get_metric("reconstruction_at").partners == ("mse",)
    assert not get_metric("token_edit_distance").higher_is_better
    with pytest.raises(KeyError, match="unknown metric"):
        get_metric("bleu")
    with pytest.raises(ValueError, match="already registered"):
        M.register_metric(get_metric("mse"))


def test_score_records(records_df):
    em = get_metric("exact_match").score_records(records_df)
    assert em.tolist() == M.exact_match(records_df["target"], records_df["prediction"]).tolist()
    df = records_df.copy()
    df.loc[3, "prediction"] = None
    with pytest.raises(ValueError, match="null at row 3"):
        get_metric("exact_match").score_records(df)
    with pytest.raises(TypeError, match="arrays"):
        get_metric("reconstruction_at").score_records(records_df)
    with pytest.raises(KeyError, match="reconstruction_mse"):
        get_metric("mse").score_records(records_df)
