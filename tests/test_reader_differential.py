"""One reader per format: the lm-eval samples fast path (DuckDB, columnar) against the line reader
that defines what a samples file holds.

Over 1,200 seeded mutants of genuine samples files — each one value of one row changed to another
JSON type or shape (a list replaced by a string, a pair flattened, a field emptied or removed, a
number stringified, a blank line) — the fast path either declines (``None``) or gives exactly the
line reader's rows, and then the line reader reported nothing.  And whatever the mutation, the line
reader keeps the file's kind: a multiple-choice file stays multiple-choice with the broken row
reported by its line, never read as generations."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emergence_lens.sources import lmeval
from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.lmeval import (
    LinesRead,
    read_lmeval_samples,
    read_lmeval_samples_fast,
)

DATA = Path(__file__).parent / "data"
N_MUTANTS = 1200
GENUINE = sorted((DATA / "lmeval").glob("ladder-0[1458]/samples_*.jsonl")) + sorted(
    (DATA / "lmeval_wild").glob("ladder-0[26]/samples_*.jsonl"))
#: Values of another JSON type or shape, as a hand edit or a broken exporter leaves them.
WRONG = ["oops", "", 3, 3.5, -1, True, None, [], {}, [1, [2]], {"a": 1}, "1", " 2 ", "-inf", "nan", "1e400",
         ["x"], [["-1.5", "False"]], "(-1.5, False)", "-" * 3000 + "1"]
#: The fields a samples reader uses, and the rest (which must change nothing).
FIELDS = ["doc_id", "target", "filter", "filtered_resps", "resps", "arguments", "doc", "metrics"]


def _task(path: Path) -> str:
    return path.name.split("samples_", 1)[1].rsplit("_2026", 1)[0]


def _change(obj, rng: random.Random):
    """One value somewhere inside ``obj`` (a list or dict) replaced, or ``obj`` itself when scalar."""
    if isinstance(obj, list) and obj and rng.random() < 0.7:
        i = rng.randrange(len(obj))
        op = rng.random()
        if op < 0.15 and isinstance(obj[i], list) and obj[i]:
            obj[i] = obj[i][0]  # a pair flattened to its first value
        elif op < 0.25:
            del obj[i]
        else:
            obj[i] = _change(obj[i], rng)
        return obj
    if isinstance(obj, dict) and obj and rng.random() < 0.7:
        k = rng.choice(list(obj))
        obj[k] = _change(obj[k], rng)
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, bool) and rng.random() < 0.4:
        return rng.choice([str(obj), f" {obj} ", float(obj)])
    return rng.choice(WRONG)


def _mutant(src: Path, rng: random.Random) -> tuple[str, str]:
    lines = src.read_text().splitlines()
    i = rng.randrange(len(lines))
    op = rng.random()
    if op < 0.04:
        lines.insert(i, rng.choice(["", "   "]))
        return "\n".join(lines) + "\n", f"blank line {i + 1}"
    row = json.loads(lines[i])
    field = rng.choice(FIELDS)
    if op < 0.12:
        row.pop(field, None)
        what = f"line {i + 1} without {field}"
    else:
        row[field] = _change(row.get(field), rng)
        what = f"line {i + 1} {field}"
    lines[i] = json.dumps(row)
    return "\n".join(lines) + rng.choice(["\n", ""]), what


def _rows(path: Path, task: str) -> tuple[pd.DataFrame, list, int]:
    issues, counter = IssueLog(), LinesRead()
    rows = read_lmeval_samples(path, {"model": "m"}, issues, task=task, counter=counter)
    return pd.DataFrame(rows), list(issues), counter.lines


def _same(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    assert len(fast) == len(slow)
    for col in ("task", "example_id", "target", "prediction", "correct_choice", "_line"):
        a = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in fast[col]]
        b = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in slow[col]]
        assert a == b, col
    for x, y in zip(fast["choice_logprobs"], slow["choice_logprobs"], strict=True):
        if x is None:
            assert y is None or (isinstance(y, float) and np.isnan(y))
        else:
            assert list(x) == list(y)


@pytest.fixture(scope="module")
def mutants(tmp_path_factory) -> list[tuple[Path, Path, str]]:
    rng = random.Random(20261206)
    root = tmp_path_factory.mktemp("mutants")
    out = []
    for i in range(N_MUTANTS):
        src = rng.choice(GENUINE)
        text, what = _mutant(src, rng)
        path = root / f"{i:04d}" / src.name
        path.parent.mkdir()
        path.write_text(text)
        out.append((path, src, what))
    return out


@pytest.mark.parametrize("batch_rows", [None, 7])
def test_fast_path_equals_the_line_reader_or_declines_on_every_mutant(mutants, batch_rows, monkeypatch):
    """Also with the parse streamed in batches of 7 rows: a file's rows converted batch by batch, a
    problem in any batch (or across them: a document twice) declined as in one."""
    if batch_rows is not None:
        monkeypatch.setattr(lmeval, "FAST_BATCH_ROWS", batch_rows)
    accepted = declined = 0
    for path, src, what in mutants:
        task = _task(path)
        slow, issues, n_read = _rows(path, task)
        data = path.read_bytes()
        ways = [(data, os.stat(path))] + ([(None, os.stat(path))] if accepted % 4 == 0 else [])  # bytes; path
        for got in (read_lmeval_samples_fast(path, {"model": "m"}, task, d, st) for d, st in ways):
            if got is None:
                declined += 1
                continue
            accepted += 1
            table, n = got
            assert not issues, (what, [str(i) for i in issues])  # it accepts only what the line reader reads whole
            assert n == n_read, what
            try:
                _same(table.to_pandas(), slow)
            except AssertionError as exc:
                raise AssertionError(f"{src.name} {what}: {exc}") from exc
    # both sides of the contract are exercised: clean-shaped changes it reads, broken ones it declines
    assert accepted >= 500 and declined >= 500, (accepted, declined)


def test_one_wrong_value_never_changes_a_file_s_kind(mutants):
    """The line reader keeps every row but the changed one, of the file's own kind; a row it does
    not keep is reported with its line."""
    intact = {}
    for src in GENUINE:
        rows, issues, _ = _rows(src, _task(src))
        assert not issues
        intact[src] = (len(rows), rows["choice_logprobs"].notna().all(), rows["prediction"].notna().all())
    for path, src, what in mutants:
        rows, issues, n_read = _rows(path, _task(path))
        n, choice, generation = intact[src]
        assert len(rows) >= n - 1, what
        if choice:
            assert rows["choice_logprobs"].notna().all() and rows["prediction"].isna().all(), what
        if generation:
            assert rows["prediction"].notna().all(), what
        if len(rows) < n:
            line = int(what.split()[1])
            assert any(i.line == line and i.rows == 1 for i in issues), (what, [str(i) for i in issues])
        assert len(rows) + sum(i.rows for i in issues) == n_read, what


def test_the_oops_row_of_a_multiple_choice_file_is_reported_and_its_curves_kept(tmp_path):
    """``filtered_resps[0] = "oops"`` in one row: the file stays multiple-choice (99 rows), the row is
    reported with what it held, and the audit keeps every multiple-choice curve of every model."""
    from emergence_lens.sources import load_sources

    src_dir = DATA / "lmeval"
    for d in sorted(src_dir.iterdir()):
        (tmp_path / d.name).mkdir()
        for f in d.iterdir():
            (tmp_path / d.name / f.name).write_bytes(f.read_bytes())
    mc = next((tmp_path / "ladder-03").glob("samples_*_mc_*.jsonl"))
    lines = mc.read_text().splitlines()
    row = json.loads(lines[0])
    row["filtered_resps"][0] = "oops"
    lines[0] = json.dumps(row)
    mc.write_text("\n".join(lines) + "\n")
    intact, broken = load_sources([src_dir]), load_sources([tmp_path])
    key = ["model", "task"]
    a = intact.records.assign(mc=intact.records.choice_logprobs.notna()).groupby(key).mc.agg(["all", "size"])
    b = broken.records.assign(mc=broken.records.choice_logprobs.notna()).groupby(key).mc.agg(["all", "size"])
    assert a.index.equals(b.index) and (a["all"] == b["all"]).all()
    assert b.loc[("ladder/ladder-03", "ladder_addition_mc"), "size"] == 99
    got = [i for i in broken.issues if i.line == 1 and "oops" in i.message]
    assert len(got) == 1 and got[0].key == "filtered_resps" and "pairs" in got[0].message
    inputs = broken.inputs.set_index("file")
    assert inputs.loc[str(mc), "rows_reported"] == 1 and inputs.loc[str(mc), "rows_loaded"] == 99


@pytest.mark.parametrize("resps", [["a\nb"], ['say "12"'], ["caf\u00e9 \u2603"], ["\\d"], [""], [5], [5.5], [True],
                                   [None], [], ["x", "y"], [["x"]], [{"a": 1}]])
def test_a_generation_s_filtered_resps_are_read_as_the_line_reader_reads_them(tmp_path, resps):
    """The fast path reads a generation's ``filtered_resps`` as raw JSON values: a list of exactly one
    string gives that string, escapes decoded; anything else is declined, and the line reader takes the
    file (reporting the row, or reading the first response's text: several responses, or ``resps``'
    nesting ``[["text"]]``)."""
    src = next(p for p in GENUINE if "_gen" in p.name)
    lines = src.read_text().splitlines()
    row = json.loads(lines[3])
    row["filtered_resps"] = resps
    lines[3] = json.dumps(row)
    path = tmp_path / src.name
    path.write_text("\n".join(lines) + "\n")
    task = _task(path)
    slow, issues, _ = _rows(path, task)
    got = read_lmeval_samples_fast(path, {"model": "m"}, task, path.read_bytes(), os.stat(path))
    plain = isinstance(resps, list) and len(resps) == 1 and isinstance(resps[0], str)
    if plain:
        assert got is not None and not issues
        _same(got[0].to_pandas(), slow)
        assert got[0].column("prediction")[3].as_py() == resps[0]
    else:  # declined; the line reader reads it its way: a row it reports, or the first response's text
        assert got is None
        first = resps[0] if resps and isinstance(resps[0], str) else resps[0][0] if resps and isinstance(
            resps[0], list) and resps[0] and all(isinstance(r, str) for r in resps[0]) else None
        if first is None:
            assert issues and issues[0].line == 4
        else:
            assert not issues and slow["prediction"].iloc[3] == first


def test_closing_the_reader_frees_duckdb_and_the_next_read_opens_it_again(tmp_path):
    """The audit's partitions close the fast path's DuckDB connection once their files are read
    (what DuckDB kept of its parses is freed before scoring); a read after that opens a new one and
    gives the same rows."""
    from emergence_lens.sources import lmeval

    path = next(p for p in GENUINE if "_gen" in p.name)
    task = _task(path)
    first = read_lmeval_samples_fast(path, {"model": "m"}, task, path.read_bytes(), os.stat(path))
    con = lmeval._duck_connection()
    lmeval.close_reader()
    with pytest.raises(Exception, match="closed"):
        con.execute("select 1")
    again = read_lmeval_samples_fast(path, {"model": "m"}, task, path.read_bytes(), os.stat(path))
    assert first is not None and again is not None and first[0].equals(again[0])
    lmeval.close_reader()
    lmeval.close_reader()  # closing twice is harmless
