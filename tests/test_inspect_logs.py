"""Inspect AI logs (issue 23): genuine logs made by inspect-ai's hf/ provider on the shipped ladder
(``scripts/inspect_ladder.py``): ``.eval`` archives for addition-L4, JSON logs for addition-L5."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app
from emergence_lens.sources import IssueLog, load_sources
from emergence_lens.sources.inspect_logs import InspectLogError, read_inspect_log

DATA = Path(__file__).parent / "data"
LOGS = DATA / "inspect"


def test_every_genuine_log_is_read_with_its_model_and_sizes_from_the_table_beside_it():
    b = load_sources([LOGS])
    inputs = b.inputs
    assert (inputs["rows_reported"] == 0).all() and (inputs["rows_loaded"] == inputs["rows_read"]).all()
    fmt = inputs.set_index(inputs["file"].map(lambda f: Path(f).suffix))["format"]
    assert set(fmt[".eval"]) == {"inspect_log"} and set(fmt[".json"]) == {"inspect_log"}
    assert fmt[".csv"] == "metadata"
    assert sorted(b.records["model"].unique()) == [f"hf/ladder-0{i}" for i in range(1, 9)]
    assert set(b.models["size_source"]) == {"metadata table"}  # the logged model_path exists nowhere now
    assert b.records.groupby("task").size().to_dict() == {"addition_L4": 480, "addition_L5": 240}
    scorer = b.curves.set_index(["model", "task", "metric"])
    assert set(b.curves["metric"]) == {"match", "digit_accuracy"}
    assert (scorer["n_examples"] > 0).all() and scorer["stderr"].notna().any()


def test_inspect_logs_audit_with_the_same_verdicts_as_the_same_outputs_through_records(tmp_path: Path):
    runner = CliRunner()
    r = runner.invoke(app, ["audit", str(LOGS), "--out", str(tmp_path / "audit"), "--family", "ladder",
                            "--n-boot", "300"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["score", str(DATA / "inspect_records.parquet"), "--out", str(tmp_path / "score"),
                            "--n-boot", "300"])
    assert r.exit_code == 0, r.output
    a = pd.read_csv(tmp_path / "audit" / "verdicts.csv")
    s = pd.read_csv(tmp_path / "score" / "verdicts.csv")
    cols = ["family", "task", "metric", "partner", "metric_score", "metric_ci_low", "metric_ci_high",
            "paired_diff", "paired_diff_low", "paired_diff_high", "verdict"]
    rescored = a[a["metric"].isin(s["metric"])][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(rescored, s[cols].reset_index(drop=True))
    # Inspect's own scorer is a curve of its own, with a parametric CI from its n
    audit = pd.read_csv(tmp_path / "audit" / "audit.csv")
    match = audit[audit["metric"] == "match"]
    assert len(match) == 2 and (match["ci_method"] == "parametric: binomial n").all()


def _rewrite_eval(src: Path, dest: Path, change) -> None:
    """Copy an .eval archive (deflate, as older inspect-ai wrote them), changing each sample JSON."""
    import zipfile_zstd  # noqa: F401 - the genuine archives are zstd

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name.startswith("samples/"):
                data = json.dumps(change(name, json.loads(data))).encode()
            zout.writestr(name, data)


def test_bad_samples_are_reported_by_file_and_sample_never_dropped_silently(tmp_path: Path):
    pytest.importorskip("zipfile_zstd")
    src = sorted((LOGS / "logs").glob("*.eval"))[-1]

    def change(name: str, s: dict) -> dict:
        if name.startswith("samples/3_"):
            s["error"] = {"message": "timeout"}
        if name.startswith("samples/5_"):
            s["scores"]["match"]["value"] = "maybe"
        if name.startswith("samples/7_"):
            s["output"] = {}
        return s

    dest = tmp_path / "x.eval"
    _rewrite_eval(src, dest, change)
    issues = IssueLog()
    rows, curves, info, n = read_inspect_log(dest, issues)
    assert n == 60 and len(rows) == 57 and info["model"] == "hf/ladder-08"
    said = {i.key: i.message for i in issues}
    assert "timeout" in said["samples/3_epoch_1.json.error"]
    assert "'maybe'" in said["samples/5_epoch_1.json.scores.match"]
    assert "no answer" in said["samples/7_epoch_1.json.output"]
    assert {c["metric"]: c["n_examples"] for c in curves} == {"match": 57.0, "digit_accuracy": 57.0}


def test_a_log_without_samples_gives_the_scorers_reported_metrics(tmp_path: Path):
    src = sorted((LOGS / "logs").glob("*.json"))[0]
    data = json.loads(src.read_text())
    data.pop("samples")
    (tmp_path / "x.json").write_text(json.dumps(data))
    rows, curves, _, n = read_inspect_log(tmp_path / "x.json", IssueLog())
    assert n == 0 and rows == []
    by = {c["metric"]: c for c in curves}
    assert by["match"]["n_examples"] == 30 and by["match"]["stderr"] is not None


def test_a_damaged_archive_is_reported_not_fatal(tmp_path: Path):
    src = sorted((LOGS / "logs").glob("*.eval"))[0]
    (tmp_path / "cut.eval").write_bytes(src.read_bytes()[:5000])
    (tmp_path / "plain.eval").write_bytes(_plain_zip())
    b = load_sources([tmp_path])
    assert set(b.inputs["format"]) == {""}
    assert len(b.issues) == 2 and all("zip" in i.message for i in b.issues)


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a log")
    return buf.getvalue()


@pytest.mark.parametrize("log", sorted((DATA / "inspect_epochs").iterdir()), ids=lambda p: p.suffix)
def test_epochs_of_one_sample_count_once_and_reduce_as_the_log_says(log: Path):
    """A task run for two epochs (``scripts/inspect_epochs.py``): ``n`` counts the 10 samples, not 20
    (sample, epoch) pairs; each scorer's value and stderr equal Inspect's own reported metrics (mean
    reducer); one record per sample; the further epochs accounted for as reported rows; no field of
    the log becomes a curve."""
    issues = IssueLog()
    rows, curves, _info, n_read = read_inspect_log(log, issues)
    assert n_read == 20 and len(rows) == 10 and len({r["example_id"] for r in rows}) == 10
    header = json.loads(log.read_text()) if log.suffix == ".json" else json.loads(
        zipfile.ZipFile(log).read("header.json"))
    reported = {s["name"]: s for s in header["results"]["scores"]}
    assert {c["metric"] for c in curves} == set(reported) == {"match", "includes"}
    for c in curves:
        theirs = reported[c["metric"]]
        assert c["n_examples"] == theirs["scored_samples"] == 10
        assert c["value"] == pytest.approx(theirs["metrics"]["accuracy"]["value"], abs=1e-12)
        assert c["stderr"] == pytest.approx(theirs["metrics"]["stderr"]["value"], abs=1e-12)
    assert sum(i.rows for i in issues) == 10 and any(i.key == "epoch" for i in issues)
    b = load_sources([log])
    row = b.inputs.iloc[0]
    assert row.rows_read == 20 and row.rows_loaded + row.rows_reported == 20
    assert not b.curves.metric.str.contains("epoch").any()


def test_an_archive_member_past_the_cap_is_reported_never_expanded(tmp_path: Path, monkeypatch):
    """A sample member that expands past the cap (its declared size, or its true size when the header
    lies) is one reported sample; the rest of the log loads."""
    import zipfile_zstd  # noqa: F401 - the genuine archives are zstd

    src = sorted((LOGS / "logs").glob("*.eval"))[0]
    big = tmp_path / src.name
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
        with zout.open("samples/huge_epoch_1.json", "w", force_zip64=True) as fh:
            for _ in range(300):  # 300 MiB of zeros, a few hundred KB compressed
                fh.write(bytes(1 << 20))
    issues = IssueLog()
    rows, _curves, _info, n_read = read_inspect_log(big, issues)
    got = [i for i in issues if "cap" in i.message]
    assert len(got) == 1 and got[0].rows == 1 and "samples/huge_epoch_1.json" in got[0].message
    assert n_read == len(rows) + 1
    monkeypatch.setenv("EMERGENCE_LENS_MAX_MEMBER_MB", "400")  # raised: the member is read
    issues = IssueLog()
    rows2, _curves, _info, n2 = read_inspect_log(big, issues)
    assert n2 == n_read and not [i for i in issues if "cap" in i.message]
    monkeypatch.setenv("EMERGENCE_LENS_MAX_MEMBER_MB", "0.001")  # 1 KB: even the header is over it
    with pytest.raises(InspectLogError, match="cap"):
        read_inspect_log(big, IssueLog())
