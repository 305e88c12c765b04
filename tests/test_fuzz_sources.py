"""Fuzzing the readers: a seeded mutator over genuine lm-eval results and samples, BIG-bench score
files and tables.  For every mutated file the audit finishes without a traceback and every input
row is accounted for (rows loaded + rows reported = rows read)."""

from __future__ import annotations

import codecs
import io
import json
import random
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app
from emergence_lens.sources import load_sources
from tests._parquet import jsonl_to_parquet, rows_to_parquet

DATA = Path(__file__).parent / "data"
N_MUTANTS = 1040
BATCHES = 8


def _genuine(parquet_dir: Path | None = None) -> list[Path]:
    files = sorted((DATA / "lmeval").rglob("*.json*"))
    if parquet_dir is not None:  # the same samples as Parquet (the hub "details" layout)
        for src in sorted((DATA / "lmeval").glob("ladder-0[18]/samples_*.jsonl")):
            d = parquet_dir / src.parent.name
            d.mkdir(parents=True, exist_ok=True)
            files.append(jsonl_to_parquet(src, d / (src.stem + ".parquet")))
    logs = sorted((DATA / "inspect" / "logs").iterdir())  # Inspect AI: .eval archives and JSON logs
    files += [p for p in logs if p.suffix == ".eval"][:2] + [p for p in logs if p.suffix == ".json"][:2]
    files += [DATA / "inspect" / "models.csv", DATA / "inspect_records.parquet"]  # metadata, records files
    files += sorted((DATA / "sources" / "bigbench").rglob("*.json"))
    files += sorted((DATA / "sources" / "old_lmeval").rglob("*.json"))
    files += [DATA / "sources" / "table.csv"]
    return files


def _walk(obj, rng: random.Random, op: str):
    """Mutate one random place of a JSON value."""
    if isinstance(obj, dict) and obj:
        key = rng.choice(list(obj))
        if op == "delete" and rng.random() < 0.4:
            del obj[key]
            return obj
        obj[key] = _walk(obj[key], rng, op)
        return obj
    if isinstance(obj, list) and obj:
        i = rng.randrange(len(obj))
        if op == "delete" and rng.random() < 0.3:
            del obj[i]
            return obj
        obj[i] = _walk(obj[i], rng, op)
        return obj
    if op == "wrong_type":
        return rng.choice([[], {}, None, True, "oops", [1, [2]], {"a": 1}, 3])
    if op == "nan":
        return rng.choice([float("nan"), float("inf"), float("-inf")])
    if op == "stringify" and isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return rng.choice([str(obj), f" {obj} ", f"{obj}%", "N/A"])
    return obj


def _damage(raw: bytes, op: str, rng: random.Random, magic: bytes, margin: int = 0) -> bytes | None:
    """Byte-level damage of a binary file (Parquet, .eval zip): ``None`` for a structural ``op``.
    ``magic`` starts the garbage (so it is sniffed as that format); ``margin`` bytes at each end are
    never flipped."""
    if op == "truncate":
        return raw[: rng.randrange(1, max(2, len(raw)))]
    if op == "empty":
        return b""
    if op == "garbage":
        return magic + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    if op == "flip":
        b = bytearray(raw)
        for _ in range(rng.randrange(1, 6)):
            b[rng.randrange(margin, len(b) - margin)] = rng.randrange(256)
        return bytes(b)
    return None


def _mutate_parquet(src: Path, rng: random.Random, tmp: Path) -> tuple[str, bytes]:
    raw = src.read_bytes()
    op = rng.choice(["truncate", "empty", "garbage", "flip", "delete", "wrong_type", "nan", "stringify", "dup_lines",
                     "drop_column"])
    damaged = _damage(raw, op, rng, b"PAR1", margin=4)
    if damaged is not None:
        return op, damaged
    rows = pq.read_table(src).to_pylist()
    if op == "dup_lines":
        i = rng.randrange(len(rows))
        rows.insert(i, dict(rows[i]))
    elif op == "drop_column":
        key = rng.choice(list(rows[0]))
        rows = [{k: v for k, v in r.items() if k != key} for r in rows]
    else:
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(rows))
            rows[i] = _walk(rows[i], rng, op)
    out = tmp / f"m{rng.randrange(10**9)}.parquet"
    rows_to_parquet(rows, out)
    data = out.read_bytes()
    out.unlink()
    return op, data


def _mutate_eval(src: Path, rng: random.Random) -> tuple[str, bytes]:
    """An Inspect .eval archive: damaged bytes, or samples changed inside a rewritten archive."""
    import zipfile

    import zipfile_zstd  # noqa: F401 - the genuine archives are zstd

    raw = src.read_bytes()
    op = rng.choice(["truncate", "empty", "garbage", "flip", "delete", "wrong_type", "nan", "stringify", "no_header"])
    damaged = _damage(raw, op, rng, b"PK\x03\x04")
    if damaged is not None:
        return op, damaged
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        names = zin.namelist()
        hit = set(rng.sample([n for n in names if n.startswith("samples/")], rng.randrange(1, 4)))
        for name in names:
            if op == "no_header" and name == "header.json":
                continue
            data = zin.read(name)
            if name in hit:
                data = json.dumps(_walk(json.loads(data), rng, op)).encode()
            zout.writestr(name, data)
    return op, buf.getvalue()


def _mutate(src: Path, rng: random.Random) -> tuple[str, bytes]:
    raw = src.read_bytes()
    text = raw.decode("utf-8")
    op = rng.choice(["truncate", "delete", "wrong_type", "nan", "stringify", "dup_lines", "utf16", "latin1",
                     "bom", "empty", "garbage", "flip", "delete", "wrong_type", "nan", "stringify"])
    if op == "truncate":
        return op, raw[: rng.randrange(1, max(2, len(raw)))]
    if op == "empty":
        return op, b""
    if op == "garbage":
        return op, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    if op == "flip":
        b = bytearray(raw)
        for _ in range(rng.randrange(1, 6)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return op, bytes(b)
    if op == "utf16":
        return op, text.encode("utf-16")
    if op == "bom":
        return op, codecs.BOM_UTF8 + raw
    if op == "latin1":
        return op, (text[: len(text) // 2] + "é±ÿ" + text[len(text) // 2:]).encode("latin-1", errors="replace")
    if op == "dup_lines":
        lines = text.splitlines()
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        return op, ("\n".join(lines) + "\n").encode()
    # structural mutations
    if src.suffix == ".jsonl":
        lines = text.splitlines()
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(lines))
            obj = json.loads(lines[i])
            lines[i] = json.dumps(_walk(obj, rng, op))
        return op, ("\n".join(lines) + "\n").encode()
    if src.suffix == ".json":
        obj = json.loads(text)
        for _ in range(rng.randrange(1, 4)):
            obj = _walk(obj, rng, op)
        return op, json.dumps(obj, indent=rng.choice([None, 2])).encode()
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    for _ in range(rng.randrange(1, 4)):
        r, c = rng.randrange(len(df)), rng.choice(list(df.columns))
        if op == "delete" and rng.random() < 0.3:
            df = df.drop(columns=[c])
            if df.empty or not len(df.columns):
                break
            continue
        df.loc[r, c] = rng.choice(["", "nan", "inf", "x", "-100", "1e309", "[1]", "None"])
    return op, df.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def mutants(tmp_path_factory) -> list[tuple[Path, str, Path]]:
    rng = random.Random(20261125)
    genuine = _genuine(tmp_path_factory.mktemp("parquet"))
    root = tmp_path_factory.mktemp("fuzz")
    scratch = tmp_path_factory.mktemp("scratch")
    out = []
    for i in range(N_MUTANTS):
        src = rng.choice(genuine)
        op, data = (_mutate_parquet(src, rng, scratch) if src.suffix == ".parquet" else
                    _mutate_eval(src, rng) if src.suffix == ".eval" else _mutate(src, rng))
        # keep the folder layout lm-eval writes (results + samples of one model side by side)
        d = root / f"batch{i % BATCHES}" / f"m{i:04d}-{src.parent.name}"
        d.mkdir(parents=True)
        dest = d / src.name
        dest.write_bytes(data)
        out.append((dest, op, src))
    return out


def test_at_least_a_thousand_mutants(mutants):
    assert len(mutants) >= 1000
    assert sum(1 for p, _, _ in mutants if p.suffix == ".parquet") >= 40
    assert sum(1 for p, _, _ in mutants if p.suffix == ".eval") >= 40
    ops = {op for _, op, _ in mutants}
    assert ops >= {"truncate", "delete", "wrong_type", "nan", "stringify", "dup_lines", "utf16", "latin1", "empty",
                   "garbage", "flip"}


def test_every_mutant_loads_without_error_and_every_row_is_accounted_for(mutants):
    for path, op, src in mutants:
        b = load_sources([path])  # never raises
        inp = b.inputs
        assert len(inp) == 1, (path, op)
        row = inp.iloc[0]
        assert row.rows_loaded + row.rows_reported == row.rows_read, (str(src), op, row.to_dict(),
                                                                      [str(i) for i in b.issues])
        assert "mismatch" not in row.status and not row.status.startswith("error"), (str(src), op, row.status)
        if row.rows_reported or row.format == "":
            assert len(b.issues), (str(src), op)


@pytest.mark.parametrize("batch", range(BATCHES))
def test_audit_of_each_batch_finishes_without_a_traceback(mutants, batch, tmp_path):
    folder = mutants[0][0].parents[1].parent / f"batch{batch}"
    res = CliRunner().invoke(app, ["audit", str(folder), "--out", str(tmp_path / "out"), "--n-boot", "20"])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code in (0, 1), res.output
    assert "Traceback" not in res.output
    inputs = pd.read_csv(tmp_path / "out" / "inputs.csv", keep_default_na=False)
    assert len(inputs) == sum(1 for p in folder.rglob("*") if p.is_file())
    assert (inputs.rows_loaded + inputs.rows_reported == inputs.rows_read).all()
    assert (tmp_path / "out" / "issues.csv").exists()
