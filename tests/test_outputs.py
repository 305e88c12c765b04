"""Outputs touch only their own files, and names from data never break them.

* An output folder inside an input folder is refused before anything is written; no input byte
  changes.
* A file in the output folder that emergence-lens did not write survives (a photo, notes, a file of
  someone's under ``.partitions``), is never embedded in the report, and is never overwritten.
* Outputs an earlier run wrote and this one does not (an lm-eval audit's Fig. 6 after an audit of a
  table) are removed, because the run manifest says emergence-lens wrote them.
* Family names of 300 characters, with a slash, a twin that differs only there, a newline and a
  markdown link: every figure written, none overwritten, the summary shows the names literally.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from emergence_lens.cli import app
from emergence_lens.naming import code_span, slug
from emergence_lens.outputs import MANIFEST

DATA = Path(__file__).parent / "data"


def _run(*args: str):
    res = CliRunner().invoke(app, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_output_folder_inside_the_input_folder_is_refused_and_no_input_byte_changes(tmp_path):
    inputs = tmp_path / "in"
    shutil.copytree(DATA / "inspect", inputs)
    before = _digests(inputs)
    for out in (inputs, inputs / "results"):
        res = _run("audit", str(inputs), "--models", str(inputs / "models.csv"), "--out", str(out))
        assert res.exit_code == 2 and "input folder" in res.output, res.output
    assert _digests(inputs) == before and not (inputs / "results").exists()
    # an input file as the output folder, too
    table = tmp_path / "t.csv"
    table.write_text("model,task,metric,value\nm-1b,t,acc,0.5\n")
    res = _run("audit", str(table), "--out", str(table))
    assert res.exit_code == 2 and "input file" in res.output


def test_files_emergence_lens_did_not_write_survive_and_are_never_shown(tmp_path):
    out = tmp_path / "out"
    (out / ".partitions").mkdir(parents=True)
    (out / "holiday_photo.png").write_bytes(b"\x89PNG\r\n\x1a\n not ours")
    (out / "notes.txt").write_text("mine")
    (out / ".partitions" / "mine.txt").write_text("mine too")
    res = _run("audit", str(DATA / "lmeval"), "--out", str(out), "--n-boot", "50")
    assert res.exit_code == 0, res.output
    assert (out / "holiday_photo.png").read_bytes().endswith(b"not ours") and (out / "notes.txt").read_text() == "mine"
    assert (out / ".partitions" / "mine.txt").read_text() == "mine too"
    page = (out / "report.html").read_text()
    assert "holiday_photo" not in page and "fig5_scores_by_metric.png" in page
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert "holiday_photo.png" not in listed and "notes.txt" not in listed and "audit.csv" in listed
    assert all((out / f).is_file() for f in listed)


def test_a_file_of_someone_else_is_never_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "models.csv").write_text("the user's own table\n")
    res = _run("audit", str(DATA / "lmeval"), "--out", str(out), "--n-boot", "50")
    assert res.exit_code == 2 and "models.csv" in res.output and "did not write" in res.output, res.output
    assert (out / "models.csv").read_text() == "the user's own table\n"


def test_outputs_of_an_earlier_run_that_this_run_does_not_write_are_removed(tmp_path):
    out = tmp_path / "out"
    assert _run("audit", str(DATA / "lmeval"), "--out", str(out), "--n-boot", "50").exit_code == 0
    assert (out / "fig6_mcg_vs_brier.png").exists() and (out / "rescored_curves.csv").exists()
    (out / "mine.csv").write_text("x\n")
    table = tmp_path / "table.csv"
    rows = [{"model": f"m-{s}b", "task": "t", "metric": "acc", "value": v, "n_examples": 500}
            for s, v in ((1, 0.1), (2, 0.12), (4, 0.15), (8, 0.6))]
    pd.DataFrame(rows).to_csv(table, index=False)
    res = _run("audit", str(table), "--out", str(out))
    assert res.exit_code == 0, res.output
    for stale in ("fig6_mcg_vs_brier.png", "rescored_curves.csv", "predictions.csv"):
        assert not (out / stale).exists(), stale
    assert (out / "mine.csv").read_text() == "x\n"
    page = (out / "report.html").read_text()
    assert "fig6_mcg_vs_brier" not in page
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert sorted(listed) == sorted(str(p.relative_to(out)) for p in out.rglob("*")
                                    if p.is_file() and p.name not in (MANIFEST, "mine.csv"))
    # `report DIR` adds to the same run: nothing removed, its files still listed, still audit's folder
    assert _run("report", str(out)).exit_code == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(listed) and manifest["command"] == "audit"


def test_names_from_data_are_safe_in_every_file_name_and_in_markdown(tmp_path):
    from emergence_lens.records import write_records
    from emergence_lens.simulate import simulate_records

    long = "f" * 300
    names = [long, "a/b", "a_b", "x\n# heading [click](javascript:alert(1))", long[:-1] + "g"]
    recs = [simulate_records(tuple(np.logspace(7, 10, 5)), (2,), 60, seed=i).assign(family=name)
            for i, name in enumerate(names)]
    path = tmp_path / "records.parquet"
    write_records(pd.concat(recs, ignore_index=True), path)
    out = tmp_path / "out"
    res = _run("score", str(path), "--out", str(out), "--n-boot", "30", "--metric", "exact_match",
               "--metric", "per_token_accuracy")
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    figures = sorted(out.glob("curves_*.png"))
    assert len(figures) == len(names) and {f.name for f in figures} == {f"curves_{slug(n)}.png" for n in names}
    assert all(len(f.name) <= 100 for f in out.iterdir())
    summary = (out / "summary.md").read_text()
    assert not any(line.startswith("# heading") for line in summary.splitlines())
    assert code_span(names[3]) in summary and code_span(long) in summary
    # the CSVs keep the names exactly as given
    curves = pd.read_csv(out / "curves.csv", keep_default_na=False)
    assert set(curves.family) == set(names)


def test_slug_is_bounded_safe_and_never_the_same_for_two_names():
    names = ["ladder", "a/b", "a_b", "a b", "f" * 300, "f" * 299 + "g", "..", "", "ü", "x\ny", "CON", "-rf"]
    slugs = [slug(n) for n in names]
    assert slug("ladder") == "ladder" and slug("a_b") == "a_b"
    assert len(set(slugs)) == len(names)
    assert all(0 < len(s) <= 80 and all(c.isascii() and (c.isalnum() or c in "._=-") for c in s) for s in slugs)
    assert not any(s.startswith((".", "-")) for s in slugs)


def test_predict_writes_every_figure_of_families_that_share_their_first_120_characters(tmp_path):
    from emergence_lens.records import write_records
    from emergence_lens.simulate import simulate_records

    stem = "family-" + "x" * 130
    names = [stem + "-one", stem + "-two", "a/b", "a_b"]
    recs = [simulate_records(tuple(np.logspace(7, 10.5, 6)), (2,), 80, seed=i).assign(family=name)
            for i, name in enumerate(names)]
    folder = tmp_path / "run"
    folder.mkdir()
    write_records(pd.concat(recs, ignore_index=True), folder / "records.parquet")
    out = tmp_path / "out"
    res = _run("predict", str(folder), "--out", str(out), "--fit-on", "3", "--n-boot", "40", "--methods", "naive",
               "--metric", "exact_match")
    assert res.exit_code == 0, res.output
    figures = sorted((out / "figures").glob("*.png"))
    assert len(figures) == len(names), [f.name for f in figures]
    assert all(len(f.name) <= 130 for f in figures)
    written = int(res.output.split("wrote ")[1].split(" files")[0])
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert written == len(listed) and all((out / f).is_file() for f in listed)  # every file said is there
