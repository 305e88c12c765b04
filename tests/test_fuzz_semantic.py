"""The semantic fuzz suite: one wrong-typed value in one row of a genuine file, for every format read.

The byte-level suite (``test_fuzz_sources``) checks that damaged files never crash a run and every row
is accounted for.  This one checks that what loads is what the file meant: 560 seeded mutants, each
ONE value of ONE row of a genuine file replaced by a value of another JSON type or shape (a list by a
string, a number by a word, a pair flattened, a field emptied) in lm-eval results, lm-eval samples
(JSON lines and Parquet), Inspect logs (``.eval`` and JSON), records Parquet, BIG-bench score files,
tidy and wide tables.  For each: no traceback; every row accounted for (loaded + reported = read);
and every curve the intact file gives is still there with as many models — or the changed file is
named in the issues.  A curve never disappears silently.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emergence_lens.sources import load_sources
from tests._parquet import jsonl_to_parquet

DATA = Path(__file__).parent / "data"
PER_FORMAT = 70
WRONG = ["oops", "", 7, 2.5, True, None, [], {}, ["x"], [1, [2]], {"a": 1}, "N/A", "-", "1e309", "[1]"]


def _change(obj, rng: random.Random):
    """``obj`` with one value somewhere inside it replaced by a value of another type or shape."""
    if isinstance(obj, dict) and obj and rng.random() < 0.75:
        k = rng.choice(sorted(obj, key=str))
        obj[k] = _change(obj[k], rng)
        return obj
    if isinstance(obj, list) and obj and rng.random() < 0.75:
        i = rng.randrange(len(obj))
        if isinstance(obj[i], list) and obj[i] and rng.random() < 0.2:
            obj[i] = obj[i][0]  # a pair flattened
        else:
            obj[i] = _change(obj[i], rng)
        return obj
    choices = [w for w in WRONG if type(w) is not type(obj)]
    return rng.choice(choices)


def _jsonl(src: Path, rng: random.Random) -> bytes:
    lines = src.read_text().splitlines()
    i = rng.randrange(len(lines))
    lines[i] = json.dumps(_change(json.loads(lines[i]), rng))
    return ("\n".join(lines) + "\n").encode()


def _json(src: Path, rng: random.Random) -> bytes:
    return json.dumps(_change(json.loads(src.read_text()), rng)).encode()


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    return buf.getvalue().to_pybytes()


def _samples_parquet(src: Path, rng: random.Random) -> bytes:
    """One cell of one row changed within its column's type (Parquet holds one type per column): a
    null, an empty or wrong text, an empty or flattened list, a wrong number."""
    t = pq.read_table(src)
    col = rng.choice(t.column_names)
    values = t.column(col).to_pylist()
    i = rng.randrange(len(values))
    kind = t.schema.field(col).type
    old = values[i]
    candidates = [None, "", "oops", "-inf", "1e309", [], ["oops"], [["oops"]], [["-1.5"]], -1, 2**40, 0.5]
    if isinstance(old, list) and old:
        candidates.append(old[0])  # flattened
        candidates.append(old[:1])  # shortened
    rng.shuffle(candidates)
    for value in candidates:
        values[i] = value
        try:
            array = pa.array(values, kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            continue
        if value != old:
            break
    return _parquet_bytes(t.set_column(t.column_names.index(col), col, array))


def _eval(src: Path, rng: random.Random) -> bytes:
    import zipfile_zstd  # noqa: F401 - the genuine archives are zstd

    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        names = zin.namelist()
        hit = rng.choice([n for n in names if n.startswith("samples/")])
        for name in names:
            data = zin.read(name)
            if name == hit:
                data = json.dumps(_change(json.loads(data), rng)).encode()
            zout.writestr(name, data)
    return buf.getvalue()


def _inspect_json(src: Path, rng: random.Random) -> bytes:
    doc = json.loads(src.read_text())
    i = rng.randrange(len(doc["samples"]))
    doc["samples"][i] = _change(doc["samples"][i], rng)
    return json.dumps(doc).encode()


def _records(src: Path, rng: random.Random) -> bytes:
    t = pq.read_table(src)
    col = rng.choice([c for c in t.column_names if c in ("scale_params", "example_id", "prediction", "target",
                                                         "model", "family", "task")])
    i = rng.randrange(t.num_rows)
    values = t.column(col).to_pylist()
    kind = t.schema.field(col).type
    values[i] = rng.choice([None, float("nan"), -1.0, 0.0] if pa.types.is_floating(kind) else [None, "", "x" * 300])
    return _parquet_bytes(t.set_column(t.column_names.index(col), col, pa.array(values, kind)))


def _csv(src: Path, rng: random.Random) -> bytes:
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    r, c = rng.randrange(len(df)), rng.choice(list(df.columns))
    df.loc[r, c] = rng.choice(["", "x", "[1]", "True", "1e309", "-", "N/A", "{}", "nan"])
    return df.to_csv(index=False).encode()


def _wide_table(path: Path) -> Path:
    rows = []
    for k, m in enumerate(["alpha-100m", "alpha-400m", "alpha-1.6b", "alpha-6.4b"]):
        for seed in (0, 1):
            rows.append({"Model": m, "seed": seed, "arc_25_acc": 0.25 + 0.1 * k + 0.01 * seed,
                         "gsm8k_5shot_exact_match": (0.1 * k) ** 2, "wikitext (word_perplexity)": 30.0 / (k + 1)})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def units(tmp_path_factory) -> list[tuple[str, Path, Path, object]]:
    """Per format: (name, the unit folder with the genuine file and what it needs beside it, the file
    to change, its mutator)."""
    root = tmp_path_factory.mktemp("units")
    scratch = tmp_path_factory.mktemp("scratch")
    out = []

    def unit(name: str, files: list[Path], target: str, mutate) -> None:
        d = root / name / "ladder-03"
        d.mkdir(parents=True)
        for f in files:
            shutil.copy(f, d / f.name)
        out.append((name, d, d / target, mutate))

    lm = DATA / "lmeval" / "ladder-03"
    results = next(lm.glob("results_*.json"))
    mc = next(lm.glob("samples_*_mc_*.jsonl"))
    gen = next(lm.glob("samples_*_gen_*.jsonl"))
    unit("lmeval_results", [results, mc, gen], results.name, _json)
    unit("lmeval_samples_mc", [results, mc, gen], mc.name, _jsonl)
    unit("lmeval_samples_gen", [results, mc, gen], gen.name, _jsonl)
    pq_dir = scratch / "pq"
    pq_dir.mkdir()
    mc_pq = jsonl_to_parquet(mc, pq_dir / (mc.stem + ".parquet"))
    unit("lmeval_samples_parquet", [results, mc_pq], mc_pq.name, _samples_parquet)
    logs = sorted((DATA / "inspect" / "logs").iterdir())
    ev = next(p for p in logs if p.suffix == ".eval")
    js = next(p for p in logs if p.suffix == ".json")
    unit("inspect_eval", [ev, DATA / "inspect" / "models.csv"], ev.name, _eval)
    unit("inspect_json", [js, DATA / "inspect" / "models.csv"], js.name, _inspect_json)
    unit("records", [DATA / "inspect_records.parquet"], "inspect_records.parquet",
         _records)
    bb = sorted((DATA / "sources" / "bigbench").rglob("*.json"))[0]
    unit("bigbench", [bb], bb.name, _json)
    unit("tidy_table", [DATA / "sources" / "table.csv"], "table.csv", _csv)
    unit("wide_table", [_wide_table(scratch / "leaderboard.csv")], "leaderboard.csv", _csv)
    return out


def _keys(bundle) -> dict[tuple, set[str]]:
    """Every curve of a load, with its models: results-only curves, and the records' (task, kind)."""
    out: dict[tuple, set[str]] = {}
    for r in bundle.curves.itertuples():
        out.setdefault(("curve", r.family, r.task, r.subtask, r.metric), set()).add(r.model)
    if bundle.records is not None and len(bundle.records):
        rec = bundle.records
        kinds = rec["choice_logprobs"].notna().map({True: "choice", False: "generation"})
        for (fam, task, kind), g in rec.assign(kind=kinds).groupby(["family", "task", "kind"]):
            out[("records", fam, task, kind)] = set(g["model"])
    return out


def test_at_least_five_hundred_mutants_over_every_format(units):
    assert len(units) >= 10 and PER_FORMAT * len(units) >= 500


def test_one_wrong_typed_value_never_loses_a_curve_silently(units, tmp_path):
    rng = random.Random(20261206)
    checked = 0
    for name, folder, target, mutate in units:
        intact = load_sources([folder])
        assert not [i for i in intact.issues if i.severity == "error"], (name, [str(i) for i in intact.issues])
        keys = _keys(intact)
        assert keys, name
        genuine = target.read_bytes()
        for k in range(PER_FORMAT):
            target.write_bytes(genuine)
            data = mutate(target, rng)
            target.write_bytes(data)
            b = load_sources([folder])  # never raises
            inp = b.inputs
            assert (inp.rows_loaded + inp.rows_reported == inp.rows_read).all(), (name, k, inp.to_dict("records"))
            assert not inp.status.str.contains("mismatch").any(), (name, k)
            named = any(Path(str(i.file)).name == target.name for i in b.issues)
            got = _keys(b)
            for key, models in keys.items():
                if not models <= got.get(key, set()) and not named:
                    raise AssertionError(f"{name} mutant {k}: curve {key} lost models "
                                         f"{sorted(models - got.get(key, set()))} with no issue naming {target.name}")
            checked += 1
        target.write_bytes(genuine)
    assert checked >= 500
