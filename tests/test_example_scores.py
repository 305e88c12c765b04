"""Scoring files one by one and keeping only their numbers equals scoring all their records at
once: the differential test of the audit's per-file scoring (``score_examples`` per part, merged)
against the whole records table, on intact and mutated records split every which way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emergence_lens.curves import compute_curves, curves_from_examples, metric_specs
from emergence_lens.emergence import chance_level
from emergence_lens.example_scores import merge_examples, score_examples
from emergence_lens.scoring import rescore, rescore_examples
from emergence_lens.simulate import simulate_records

SCALES = tuple(float(v) for v in np.logspace(7, 10.5, 6))


def _records(seed: int) -> pd.DataFrame:
    return simulate_records(SCALES, (1, 3), 30, seed=seed)


def _drop_greedy(r: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Greedy flags missing on some rows of one model: per-token accuracy is skipped with its reason,
    exact match falls back to the target probabilities."""
    r = r.copy()
    rows = np.flatnonzero(r["model"].to_numpy() == r["model"].iloc[0])
    r.loc[r.index[rng.choice(rows, 3, replace=False)], "target_token_greedy"] = None
    return r


def _fewer_options(r: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Some questions lose their last option (the right one stays): mixed K, chance mean 1/K."""
    r = r.copy()
    cl = list(r["choice_logprobs"])
    for i in rng.choice(len(r), len(r) // 3, replace=False):
        if r["correct_choice"].iat[i] < len(cl[i]) - 1 and len(cl[i]) > 2:
            cl[i] = list(cl[i])[:-1]
    r["choice_logprobs"] = cl
    return r


def _unpaired(r: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One model lacks some examples: the models no longer share their examples."""
    m = r["model"].iloc[-1]
    drop = r.index[(r["model"] == m).to_numpy() & (rng.random(len(r)) < 0.3)]
    return r.drop(drop)


def _ids_as_numbers(r: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Ids whose text order is not their number order ("10" < "9"), as lm-eval doc ids are."""
    r = r.copy()
    codes = pd.factorize(r["example_id"])[0]
    r["example_id"] = [str(int(c) * 7 % 101) for c in codes]
    return r


MUTANTS = {"intact": lambda r, rng: r, "greedy missing on some rows": _drop_greedy,
           "mixed option counts": _fewer_options, "unpaired models": _unpaired, "numeric ids": _ids_as_numbers}


def _parts(r: pd.DataFrame, rng: np.random.Generator, how: str) -> list[pd.DataFrame]:
    if how == "one":
        return [r]
    if how == "per model":
        return [g for _, g in r.groupby("model", sort=False)]
    cuts = np.sort(rng.choice(np.arange(1, len(r)), 7, replace=False))  # slices across models and tasks
    return [r.iloc[a:b] for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(r)], strict=True)]


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
@pytest.mark.parametrize("how", ["one", "per model", "random slices"])
def test_scoring_parts_and_merging_equals_scoring_the_whole(mutant, how):
    rng = np.random.default_rng(7)
    r = MUTANTS[mutant](_records(3), rng)
    r = r.iloc[rng.permutation(len(r))].reset_index(drop=True)  # rows in no order: files interleave
    specs = metric_specs(None)
    whole = rescore(r, n_boot=50, seed=1)
    pieces = [p for part in _parts(r, rng, how) for p in score_examples(part, specs)]
    parts = rescore_examples(pieces, specs, n_boot=50, seed=1)
    for name in ("audit_rows", "verdicts", "curves", "predictions"):
        pd.testing.assert_frame_equal(getattr(parts, name), getattr(whole, name), check_exact=True, obj=name)
    a = compute_curves(r, n_boot=50, seed=1)
    b = curves_from_examples(pieces, specs, n_boot=50, seed=1)
    pd.testing.assert_frame_equal(a.skipped, b.skipped)
    if mutant == "greedy missing on some rows":
        reason = a.skipped.loc[a.skipped["metric"] == "per_token_accuracy", "reason"].iloc[0]
        assert "present on" in reason and "first missing at model" in reason


def test_a_model_in_two_parts_merges_to_its_examples_in_id_order():
    r = _records(0)
    specs = metric_specs(["exact_match", "multiple_choice_grade"])
    m = r["model"].iloc[0]
    own = r[r["model"] == m]
    merged = merge_examples(score_examples(own.iloc[1::2], specs) + score_examples(own.iloc[::2], specs))
    at_once = score_examples(own, specs)
    assert len(merged) == len(at_once) == 2  # one per task
    for x, y in zip(merged, at_once, strict=True):
        assert x.key == y.key
        assert x.example_ids.equals(y.example_ids)
        assert x.example_ids.to_pylist() == sorted(x.example_ids.to_pylist())
        for metric in y.scores:
            np.testing.assert_array_equal(x.scores[metric], y.scores[metric])
        for metric, by_source in y.ingredients.items():
            for source, ing in by_source.items():
                np.testing.assert_array_equal(x.ingredients[metric][source].values, ing.values)
        np.testing.assert_array_equal(x.choices[1], y.choices[1])


def test_the_chance_level_does_not_depend_on_the_order_of_the_questions():
    ks = np.random.default_rng(0).integers(2, 9, size=1001)
    levels = {chance_level("multiple_choice_grade", ks[np.random.default_rng(s).permutation(ks.size)])
              for s in range(5)}
    assert len(levels) == 1
    assert levels.pop() == pytest.approx(np.mean(1.0 / ks), rel=1e-12)


def test_per_file_scores_hold_no_text():
    """What survives a model's rows: numbers, and the ids (Arrow strings) — no targets, predictions."""
    pieces = score_examples(_records(1), metric_specs(None))
    for p in pieces:
        for arrays in (p.scores, p.weights):
            assert all(a.dtype == np.float64 for a in arrays.values())
        for by_source in p.ingredients.values():
            assert all(i.values.dtype == np.float64 for i in by_source.values())


def _mc_records(rng: np.random.Generator, n: int, min_options: int = 1) -> pd.DataFrame:
    """Random multiple-choice records: ragged options (``min_options``-6), ties, -inf options, a row
    whose every option is -inf."""
    import pyarrow as pa

    from emergence_lens.records import records_to_pandas, validate_records

    k = rng.integers(min_options, 7, n)
    lp = np.round(-rng.exponential(2.0, int(k.sum())), int(rng.integers(0, 3)))  # rounding makes ties
    lp[rng.random(lp.size) < 0.1] = -np.inf
    lp[rng.random(lp.size) < 0.05] = -0.0
    rows = np.split(lp, np.cumsum(k)[:-1])
    if n > 3:
        rows[1][:] = -np.inf  # every option impossible: the uniform distribution
    if n == 0:
        rows = []
    table = pa.table({"family": ["f"] * n, "model": ["m"] * n, "scale_params": [1e6] * n, "task": ["t"] * n,
                      "example_id": [f"q{i}" for i in rng.permutation(n)],
                      "choice_logprobs": pa.array([list(r) for r in rows], pa.list_(pa.float64())),
                      "correct_choice": pa.array(rng.integers(0, k), pa.int64())})
    return records_to_pandas(validate_records(table))


@pytest.mark.parametrize("seed", range(40))
def test_the_multiple_choice_metrics_scored_together_equal_each_scored_alone(seed):
    """The multiple-choice metrics share one softmax (``MetricSpec.joint``): each equals its own
    record scorer bit for bit, on ragged options with ties, ``-inf`` and ``-0.0`` options and rows
    whose every option is impossible; so does the audit's scoring of the records, which goes
    through the shared pass (``score_examples``)."""
    from emergence_lens.metrics import get_metric

    rng = np.random.default_rng(seed)
    records = _mc_records(rng, int(rng.integers(0, 60)) if seed else 0, min_options=1 + seed % 2)
    names = ["multiple_choice_grade", "brier_score", "bigbench_brier_score", "correct_choice_probability"]
    done: dict = {}
    for name in names:
        spec = get_metric(name)
        assert spec.joint is not None
        alone = spec.score_records(records)
        together = spec.score_jointly(records, done)
        assert alone.dtype == together.dtype == np.float64 and np.array_equal(alone, together, equal_nan=True)
    assert len(done) == (1 if names else 0)
    if len(records):
        piece, = score_examples(records, [get_metric(n) for n in names])
        order = np.argsort(records["example_id"].to_numpy(dtype=str), kind="stable")
        by_id = records.iloc[order]
        for name in names:
            assert np.array_equal(piece.scores[name], get_metric(name).score_records(by_id), equal_nan=True)
        margin = piece.ingredients["multiple_choice_grade"]["margin"]
        assert (margin.error is None) == (seed % 2 == 1)  # a single option has no margin
        if margin.error is None:  # every option impossible: a tie (0), never NaN
            assert np.isfinite(margin.values).all() and (len(records) <= 3 or 0.0 in margin.values)


def test_a_metric_with_options_is_scored_alone_and_a_bad_gold_option_is_reported_the_same_through_the_joint_pass():
    from emergence_lens.metrics import get_metric

    records = _mc_records(np.random.default_rng(3), 20)
    bad = records.assign(correct_choice=records["correct_choice"].where(records.index != 4, 9).astype("Int64"))
    spec = get_metric("brier_score")
    with pytest.raises(ValueError) as alone:
        spec.score_records(bad)
    with pytest.raises(ValueError) as together:
        spec.score_jointly(bad, {})
    assert str(alone.value) == str(together.value) and "correct_choice[4]" in str(alone.value)
    with pytest.raises(TypeError):  # options go to the metric's own scorer, which takes none
        score_examples(records, [spec], options={"brier_score": {"x": 1}})


@pytest.mark.parametrize("seed", range(12))
def test_ids_sorted_by_arrow_equal_ids_sorted_as_python_strings(seed):
    """A records frame's ids are Arrow text: they are sorted by Arrow (UTF-8 bytes) and kept as Arrow.
    The same records with the ids as Python objects (sorted by numpy) score the same, id for id:
    non-ASCII, prefixes, a NUL, several models interleaved, ids in any order."""
    rng = np.random.default_rng(seed)
    alphabet = ["a", "b", "B", "é", "中", "😀", "\x00", "1", "10", "2", " "]
    n = int(rng.integers(1, 80))
    ids = list(dict.fromkeys("".join(rng.choice(alphabet, int(rng.integers(1, 4)))) for _ in range(n)))
    recs = simulate_records([1e6, 1e7, 1e8], [3], len(ids), seed=seed)
    recs = recs.sort_values(["model", "example_id"], kind="stable").reset_index(drop=True)
    recs["example_id"] = pd.array(ids * 3, dtype="str")  # each model: the same ids
    recs = recs.iloc[rng.permutation(len(recs))].reset_index(drop=True)  # models interleaved, ids in any order
    if seed % 3:
        recs = recs[rng.random(len(recs)) < 0.7].reset_index(drop=True)
    specs = metric_specs(None)
    arrow = score_examples(recs, specs)
    objects = score_examples(recs.assign(example_id=recs["example_id"].astype(object)), specs)
    assert [p.key for p in arrow] == [p.key for p in objects]
    for a, b in zip(arrow, objects, strict=True):
        assert a.example_ids.equals(b.example_ids)
        assert a.example_ids.to_pylist() == sorted(a.example_ids.to_pylist())
        assert a.scores.keys() == b.scores.keys()
        assert all(np.array_equal(a.scores[k], b.scores[k], equal_nan=True) for k in a.scores)


def _same_pieces(a: list, b: list) -> None:
    """Two lists of ModelScores hold the same numbers, bit for bit."""
    assert [p.key for p in a] == [p.key for p in b]
    for x, y in zip(a, b, strict=True):
        assert x.example_ids.equals(y.example_ids)
        assert (x.scale_params, x.present) == (y.scale_params, y.present)
        assert np.array_equal([x.scale_flops, x.pretrain_loss], [y.scale_flops, y.pretrain_loss], equal_nan=True)
        for got, want in ((x.scores, y.scores), (x.weights, y.weights), (x.obs, y.obs)):
            assert got.keys() == want.keys()
            assert all(np.array_equal(got[k], want[k], equal_nan=True) for k in want)
        assert x.ingredients.keys() == y.ingredients.keys()
        for metric, by_source in y.ingredients.items():
            assert x.ingredients[metric].keys() == by_source.keys()
            for source, ing in by_source.items():
                mine = x.ingredients[metric][source]
                assert np.array_equal(mine.values, ing.values, equal_nan=True)
                assert (mine.lengths is None) == (ing.lengths is None)
                assert mine.lengths is None or np.array_equal(mine.lengths, ing.lengths)
                assert str(mine.error) == str(ing.error)
        assert all(np.array_equal(c, d) for c, d in zip(x.choices, y.choices, strict=True))


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
@pytest.mark.parametrize("empty", [(), ("target_token_greedy",), ("choice_logprobs", "correct_choice"),
                                   ("target", "prediction", "scale_flops", "pretrain_loss")])
def test_scoring_an_arrow_table_equals_scoring_its_records_as_python_objects(mutant, empty):
    """``score_table`` (what the audit scores each file with: optional columns null on every row not
    converted, ids sorted and kept by Arrow, one model's family/task/model read from Arrow) against
    ``score_examples`` on the same records with every text column as Python objects and every column
    kept: the same pieces, bit for bit, on every mutant and with columns null on every row."""
    import pyarrow as pa

    from emergence_lens.example_scores import score_table
    from emergence_lens.records import validate_records

    rng = np.random.default_rng(11)
    r = MUTANTS[mutant](_records(5), rng)
    r = r.iloc[rng.permutation(len(r))].reset_index(drop=True)
    for col in empty:
        r[col] = None
    specs = metric_specs(None)
    table = validate_records(r)
    for t in (table, table.filter(pa.array(r["model"].to_numpy() == r["model"].iloc[0]))):  # one model too
        frame = t.to_pandas(types_mapper=lambda d: pd.ArrowDtype(d) if pa.types.is_list(d) else None)
        frame = frame.astype({c: object for c in frame.columns if frame[c].dtype == "str"})
        for c in ("correct_choice", "attempts", "passes"):
            frame[c] = frame[c].astype("Int64")
        _same_pieces(score_table(t, specs), merge_examples(score_examples(frame, specs)))
        _same_pieces(score_table(t, specs, rows=37), merge_examples(score_examples(frame, specs)))
