"""audit on the result files people actually have: any names, encodings, filters, groups, wide
tables with metadata, families without size tokens — every input accounted for, never a traceback."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.emergence.aggregate import curve_scores
from emergence_lens.cli import app
from emergence_lens.sources import load_sources, lookup_model, read_metadata, split_column, sniff
from emergence_lens.sources.checkpoint import checkpoint_params

DATA = Path(__file__).parent / "data"
LMEVAL = DATA / "lmeval"
OLD = DATA / "sources" / "old_lmeval"


def _audit(args: list[str]):
    res = CliRunner().invoke(app, ["audit", *args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res


def _check_accounting(out: Path) -> pd.DataFrame:
    inputs = pd.read_csv(out / "inputs.csv", keep_default_na=False)
    assert (inputs.rows_loaded + inputs.rows_reported == inputs.rows_read).all(), inputs
    assert not inputs.status.str.contains("mismatch").any()
    return inputs


def test_results_named_after_the_model_any_encoding_and_junk_are_all_accounted_for(tmp_path):
    src = tmp_path / "dump"
    for d in sorted(OLD.iterdir()):
        f = next(d.glob("*.json"))
        (src).mkdir(exist_ok=True)
        (src / f"{d.name}.json").write_text(f.read_text())          # named after the model
    text = (src / "pythia-12b.json").read_text()
    (src / "pythia-12b.json").write_bytes(text.encode("utf-16"))   # a spreadsheet's UTF-16 export
    (src / "broken.json").write_bytes(b'{"results": {"x": \xff\xfe\x00 garbage')
    (src / "empty.json").write_bytes(b"")
    (src / "notes.txt").write_text("hello")
    (src / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (src / "half.jsonl").write_text('{"doc_id": 0, "filtered_resps": ["1"], "target": "1"}\n{"doc_id": 1, "filt')
    out = tmp_path / "out"
    res = _audit([str(src), "--out", str(out), "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    inputs = _check_accounting(out).set_index(inputs_key := "file")
    assert inputs_key == "file"
    name = {Path(f).name: r for f, r in inputs.iterrows()}
    assert set(name) == {"pythia-70m.json", "pythia-410m.json", "pythia-1.4b.json", "pythia-12b.json", "broken.json",
                         "empty.json", "notes.txt", "plot.png", "half.jsonl"}
    assert name["pythia-12b.json"]["format"] == "lmeval_results" and name["pythia-12b.json"]["rows_loaded"] == 2
    assert "UTF-8" in name["broken.json"]["status"] and "empty" in name["empty.json"]["status"]
    assert "not a data file" in name["plot.png"]["status"]
    audit = pd.read_csv(out / "audit.csv")
    acc = audit[audit.metric == "acc"].iloc[0]
    assert acc.n_scales == 4  # all four models, the UTF-16 one included
    issues = pd.read_csv(out / "issues.csv")
    assert issues.file.str.endswith("broken.json").any()
    assert "broken.json" in res.output


def test_only_bad_inputs_exit_one_with_issues_and_no_traceback(tmp_path):
    src = tmp_path / "junk"
    src.mkdir()
    (src / "a.json").write_text("[1, 2, 3]")
    (src / "b.csv").write_text("x,y\nfoo,bar\n")
    out = tmp_path / "out"
    res = _audit([str(src), "--out", str(out)])
    assert res.exit_code == 1
    assert "nothing could be audited" in res.output and "Traceback" not in res.output
    assert len(pd.read_csv(out / "issues.csv")) >= 2
    _check_accounting(out)


def test_bad_option_is_one_line(tmp_path):
    res = _audit([str(OLD), "--out", str(tmp_path), "--x", "tokens"])
    assert res.exit_code == 2 and "unknown x-axis" in res.output


def test_names_without_size_form_one_family_from_their_folder(tmp_path):
    out = tmp_path / "out"
    res = _audit([str(LMEVAL), "--out", str(out), "--n-boot", "50"])  # no --family
    assert res.exit_code == 0, res.output
    models = pd.read_csv(out / "models.csv")
    assert set(models.family) == {"lmeval"} and models.family_source.str.startswith("input path").all()
    audit = pd.read_csv(out / "audit.csv")
    assert (audit.n_scales == 8).all()
    assert (pd.read_csv(out / "verdicts.csv").x_axis == "params").all()


def _two_filter_copy(dest: Path) -> Path:
    """A real ladder folder whose generation samples carry two filters, one row per document per filter,
    as lm-eval writes a task with a filter_list — plus one genuine duplicate line."""
    for d in sorted(LMEVAL.iterdir()):
        shutil.copytree(d, dest / d.name)
        gen = next((dest / d.name).glob("samples_ladder_addition_gen_*.jsonl"))
        lines = [json.loads(x) for x in gen.read_text().splitlines()]
        out = []
        for obj in lines:
            for filt in ("strict-match", "flexible-extract"):
                out.append({**obj, "filter": filt})
        if d.name == "ladder-03":
            out.append(out[5])  # a genuine duplicate (same document, same filter)
        gen.write_text("\n".join(json.dumps(o) for o in out) + "\n")
    return dest


def test_samples_with_two_filters_are_two_curves_and_a_duplicate_drops_one_line(tmp_path):
    src = _two_filter_copy(tmp_path / "lm")
    b = load_sources([src])
    assert b.records is not None
    tasks = set(b.records.task)
    assert {"ladder_addition_gen,strict-match", "ladder_addition_gen,flexible-extract",
            "ladder_addition_mc"} <= tasks
    assert len(b.records) == 8 * (2 * 100 + 100)  # nothing else lost
    dup = [i for i in b.issues if "duplicate of line" in i.message]
    assert len(dup) == 1 and dup[0].line == 201 and dup[0].file.endswith(".jsonl") and "ladder-03" in dup[0].file
    inputs = b.inputs.set_index("file")
    assert (inputs.rows_loaded + inputs.rows_reported == inputs.rows_read).all()


def test_group_aggregate_is_marked_and_kept_out_of_the_meta_analysis(tmp_path):
    src = tmp_path / "g"
    for d in sorted(OLD.iterdir()):
        data = json.loads(next(d.glob("*.json")).read_text())
        acc = data["results"]["arc_easy"]["acc"] if "arc_easy" in data["results"] else 0.5
        data["results"] = {"grp": {"acc,none": acc, "alias": "grp"}, "sub_a": {"acc,none": acc, "alias": " - sub_a"},
                           "sub_b": {"acc,none": acc / 2, "alias": " - sub_b"}}
        data["group_subtasks"] = {"grp": ["sub_a", "sub_b"], "sub_a": [], "sub_b": []}
        (src / d.name).mkdir(parents=True)
        (src / d.name / "results.json").write_text(json.dumps(data))
    out = tmp_path / "out"
    assert _audit([str(src), "--out", str(out)]).exit_code == 0
    audit = pd.read_csv(out / "audit.csv")
    agg = audit.set_index("task")["aggregate"]
    assert bool(agg["grp"]) and not bool(agg["sub_a"]) and not bool(agg["sub_b"])
    assert "3 curves (2 scored)" in (out / "summary.md").read_text()  # the aggregate is not scored again


def test_wide_table_with_metadata_replicates_conditions_and_sentinels(tmp_path):
    wide = tmp_path / "leaderboard.csv"
    rows = []
    sizes = {"alpha-a": 0.1, "alpha-b": 0.4, "alpha-c": 1.6, "alpha-d": 6.4}
    for k, m in enumerate(sizes):
        for seed in (0, 1, 2):
            for prompt in ("plain", "cot"):
                acc = min(0.95, 0.1 + 0.2 * k + 0.01 * seed + (0.05 if prompt == "cot" else 0))
                rows.append({"Model": m, "seed": seed, "prompt": prompt, "arc_25_acc": acc,
                             "gsm8k_5shot_exact_match": -100 if (m == "alpha-a" and seed == 0) else acc ** 3,
                             "wikitext (word_perplexity)": 30.0 / (k + 1)})
    pd.DataFrame(rows).to_csv(wide, index=False)
    meta = tmp_path / "models.csv"
    meta.write_text("Model,Size (B),Tokens (T)\n" + "".join(f"{m},{s},0.3\n" for m, s in sizes.items()))
    out = tmp_path / "out"
    res = _audit([str(wide), "--models", str(meta), "--out", str(out), "--by", "prompt"])
    assert res.exit_code == 0, res.output
    inputs = _check_accounting(out)
    assert inputs.rows_read.iloc[0] == len(rows) * 3 and inputs.rows_reported.iloc[0] == 2  # two -100 cells
    curves = pd.read_csv(out / "curves.csv")
    arc = curves[(curves.metric == "acc") & curves.task.str.startswith("arc [prompt=plain")]
    assert list(arc.shots.unique()) == [25.0] and set(arc.replicates) == {3}
    assert (arc.replicate_low < arc.value).all() and (arc.value < arc.replicate_high).all()
    assert sorted(arc.scale_params) == pytest.approx([1e8, 4e8, 1.6e9, 6.4e9])
    assert arc.scale_flops.iloc[0] == pytest.approx(6 * arc.scale_params.iloc[0] * 0.3e12)
    models = pd.read_csv(out / "models.csv")
    assert set(models.size_source) == {"metadata table"} and set(models.family) == {"leaderboard"}
    audit = pd.read_csv(out / "audit.csv")
    assert set(audit.task) >= {"arc [prompt=plain]", "arc [prompt=cot]", "gsm8k [prompt=plain]"}
    assert "log scale" in audit[audit.metric == "word_perplexity"].metric_kind.iloc[0]
    issues = pd.read_csv(out / "issues.csv")
    assert issues.message.str.contains("-100").sum() == 2
    # a metadata file whose units cannot be read says so
    bad = tmp_path / "bad.csv"
    bad.write_text("Model,Size (furlongs)\nalpha-a,1\n")
    res = _audit([str(wide), "--models", str(bad), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "Size (furlongs)" in res.output


@pytest.mark.parametrize("col,expected", [
    ("arc_25_acc", ("arc", 25.0, "acc")), ("gsm8k_5shot_exact_match", ("gsm8k", 5.0, "exact_match")),
    ("mmlu (acc)", ("mmlu", None, "acc")), ("hellaswag", ("hellaswag", None, "score")),
    ("truthfulqa_mc2_acc", ("truthfulqa_mc2", None, "acc")),
])
def test_wide_column_names_split_into_task_shots_metric(col, expected):
    assert split_column(col) == expected


def test_metadata_units():
    from emergence_lens.sources.tables import unit_factor

    assert unit_factor("Size (B)") == 1e9 and unit_factor("Params (M)") == 1e6
    assert unit_factor("FLOPs (1E21)") == 1e21 and unit_factor("Tokens (T)") == 1e12
    assert unit_factor("Parameters") == 1.0 and unit_factor("Size (furlongs)") is None


def test_catalogue_gives_sizes_and_families_to_names_without_sizes(tmp_path):
    t = tmp_path / "gpt2.csv"
    vals = {"gpt2": 0.1, "gpt2-medium": 0.2, "gpt2-large": 0.35, "openai-community/gpt2-xl": 0.5}
    t.write_text("model,task,metric,value\n" + "".join(f"{m},lambada,acc,{v}\n" for m, v in vals.items()))
    b = load_sources([t])
    assert b.unresolved.empty
    assert set(b.curves.family) == {"gpt2"}
    assert sorted(b.curves.scale_params) == [124439808.0, 354823168.0, 774030080.0, 1557611200.0]
    assert b.models.size_source.str.startswith("catalogue").all()
    for name in ("davinci", "t5-large", "chinchilla", "palm-540b", "gopher-280b", "lamda-137b", "Meta-Llama-3-8B",
                 "EleutherAI/pythia-6.9b-deduped"):
        e = lookup_model(name)
        assert e is not None and e.source, name
    assert lookup_model("palm-540b").flops == pytest.approx(6 * 540.35e9 * 780e9)


def _write_safetensors(folder: Path, shapes: dict[str, list[int]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    header, offset = {}, 0
    for k, shp in shapes.items():
        n = int(np.prod(shp)) * 4
        header[k] = {"dtype": "F32", "shape": shp, "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(offset))


def test_size_from_a_local_checkpoint_named_in_the_run_config(tmp_path):
    runs = tmp_path / "runs"
    for i, width in enumerate((8, 16, 32)):
        ck = tmp_path / "ckpt" / f"tiny-net-v{i}"
        _write_safetensors(ck, {"w": [width, width], "b": [width]})
        data = {"results": {"t": {"acc,none": 0.1 * (i + 1)}},
                "config": {"model": "hf", "model_args": f"pretrained={ck},dtype=float32"}}
        (runs / f"r{i}").mkdir(parents=True)
        (runs / f"r{i}" / "out.json").write_text(json.dumps(data))
    assert checkpoint_params(tmp_path / "ckpt" / "tiny-net-v0") == 8 * 8 + 8
    b = load_sources([runs])
    assert sorted(b.curves.scale_params) == [72.0, 272.0, 1056.0]
    assert b.models.size_source.str.startswith("checkpoint").all()


def test_perplexity_is_scored_on_a_log_scale():
    n = np.logspace(6, 10, 5)
    ppl = 50.0 * (n / 1e6) ** -0.2  # a power-law fall: smooth on log-log
    df = pd.DataFrame({"family": "f", "task": "wt", "subtask": "wt", "shots": 0.0, "metric": "word_perplexity",
                       "scale_params": n, "value": ppl, "source": "x"})
    s = curve_scores(df).iloc[0]
    assert s.emergence_score == pytest.approx(4.0)  # equal steps in log ppl: n - 1, not "sharp"


def test_sniff_formats(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"results": {"a": {"acc": 1}}}, indent=2))
    assert sniff(p).format == "lmeval_results"
    p.write_text('{"results": {"a": {"acc"')
    assert "truncated JSON at line 1" in sniff(p).reason
    p.write_bytes(b"\x00\x01\x02binary")
    assert sniff(p).format is None


def test_read_metadata_needs_a_size(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("model,notes\na,b\n")
    with pytest.raises(ValueError, match="no size column"):
        read_metadata(p)


WILD = DATA / "lmeval_wild"


def test_genuine_lmeval_dump_named_by_model_with_filters_and_a_group(tmp_path):
    """lm-evaluation-harness 0.4.13 on the 8 ladder checkpoints (scripts/lmeval_ladder.py --variant wild):
    results files named ``<model>.json``, a generation task with two filters (one sample row per
    document per filter), a group of two multiple-choice subtasks, model names without sizes."""
    files = sorted(WILD.rglob("*"))
    assert not any(f.name.startswith("results") for f in files)
    gen = next(WILD.glob("ladder-01/samples_ladder_addition_gen2f_*.jsonl"))
    filters = [json.loads(x)["filter"] for x in gen.read_text().splitlines()]
    assert sorted(set(filters)) == ["flexible-extract", "strict-match"] and len(filters) == 2 * 60
    out = tmp_path / "out"
    res = _audit([str(WILD), "--out", str(out), "--n-boot", "100"])  # no --family, no --scale-map
    assert res.exit_code == 0, res.output
    inputs = _check_accounting(out)
    assert (inputs.rows_reported == 0).all() and (inputs.format != "").all()
    audit = pd.read_csv(out / "audit.csv")
    assert (audit.n_scales == 8).all()  # one family from the folder, sizes from the files
    tasks = set(audit.task)
    assert {"ladder_addition_gen2f,strict-match", "ladder_addition_gen2f,flexible-extract", "ladder_addition_mc",
            "ladder_addition_mc2", "ladder_arith"} <= tasks
    assert set(audit[audit.task == "ladder_addition_gen2f"].metric) == {"exact_match[strict-match]",
                                                                      "exact_match[flexible-extract]"}
    agg = audit[audit["aggregate"]]
    assert set(agg.task) == {"ladder_arith"}
    rescored = audit[audit.source == "per-sample logs (re-scored)"]
    assert rescored.ci_low.notna().all()
    # the re-scored accuracy of each subtask is lm-eval's own, and the group is their size-weighted mean
    b = load_sources([WILD])
    from emergence_lens.curves import compute_curves

    rc = compute_curves(b.records, ["multiple_choice_grade"], n_boot=0).table.set_index(["task", "model"])["value"]
    theirs = b.curves[(b.curves.metric == "acc")].set_index(["task", "model"])["value"]
    for task in ("ladder_addition_mc", "ladder_addition_mc2"):
        assert rc.loc[task].sort_index().to_numpy() == pytest.approx(theirs.loc[task].sort_index().to_numpy())
    group = theirs.loc["ladder_arith"].sort_index().to_numpy()
    assert group == pytest.approx((theirs.loc["ladder_addition_mc"].sort_index().to_numpy()
                                   + theirs.loc["ladder_addition_mc2"].sort_index().to_numpy()) / 2)


@pytest.mark.parametrize("path", sorted(LMEVAL.glob("ladder-0[18]/samples_*.jsonl")) + sorted(WILD.glob("ladder-05/samples_*.jsonl")),
                         ids=lambda p: f"{p.parent.name}/{p.name[:40]}")
def test_fast_and_line_by_line_sample_readers_agree(path):
    from emergence_lens.sources.issues import IssueLog
    from emergence_lens.sources.lmeval import read_lmeval_samples, read_lmeval_samples_fast

    task = path.name.split("samples_", 1)[1].rsplit("_2026", 1)[0]
    fast, n = read_lmeval_samples_fast(path, {"model": "m"}, task)
    fast = fast.to_pandas()
    slow = pd.DataFrame(read_lmeval_samples(path, {"model": "m"}, IssueLog(), task=task))
    assert n == len(slow) == len(fast)
    for col in ("task", "example_id", "target", "prediction", "correct_choice", "_line"):
        a = [None if pd.isna(v) else v for v in fast[col]]
        b = [None if pd.isna(v) else v for v in slow[col]]
        assert a == b, col
    for x, y in zip(fast["choice_logprobs"], slow["choice_logprobs"], strict=True):
        assert (x is None and (y is None or (isinstance(y, float) and np.isnan(y)))) or list(x) == pytest.approx(list(y))


def _mutations():

    def numbers(o):  # logprobs and the gold index as JSON numbers, not the strings lm-eval writes
        fr = o.get("filtered_resps")
        if isinstance(fr, list) and fr and isinstance(fr[0], list):
            o["filtered_resps"] = [[float(a), b == "True"] for a, b in o["filtered_resps"]]
            o["target"] = int(o["target"])
        return o

    def reorder(o):
        return dict(reversed(list(o.items())))

    def no_filter(o):
        o.pop("filter", None)
        return o

    def keyed_filter(o):
        o["filter"] = "strict-match"
        return o

    return {"numbers": (numbers, "\n"), "reordered keys": (reorder, "\n"), "no filter field": (no_filter, "\n"),
            "named filter": (keyed_filter, "\n"), "crlf": (lambda o: o, "\r\n"),
            "unicode": (lambda o: {**o, "doc": {"q": "\u00e9\u4e2d \ud83d\ude00"}}, "\n"), "dumps": (lambda o: o, None)}


@pytest.mark.parametrize("kind", ["mc", "gen"])
@pytest.mark.parametrize("mutation", list(_mutations()))
def test_fast_reader_on_mutated_files_agrees_or_declines(kind, mutation, tmp_path):
    """Every file shape the fast (DuckDB) reader accepts gives the line reader's rows; any other
    shape makes it decline (``None``), so the line reader — which reports — takes the file."""
    import json as _json

    from emergence_lens.sources.issues import IssueLog
    from emergence_lens.sources.lmeval import read_lmeval_samples, read_lmeval_samples_fast

    src = next(LMEVAL.glob(f"ladder-04/samples_ladder_addition_{kind}_*.jsonl"))
    fn, eol = _mutations()[mutation]
    rows = [fn(_json.loads(x)) for x in src.read_text().splitlines()]
    path = tmp_path / src.name
    text = ("\n".join(_json.dumps(r, ensure_ascii=False) for r in rows) + "\n" if eol is None
            else eol.join(_json.dumps(r) for r in rows) + eol)
    path.write_bytes(text.encode("utf-8"))
    task = f"ladder_addition_{kind}"
    got = read_lmeval_samples_fast(path, {"model": "m"}, task, path.read_bytes())
    slow = pd.DataFrame(read_lmeval_samples(path, {"model": "m"}, IssueLog(), task=task))
    if got is None:
        return
    fast, n = got
    fast = fast.to_pandas()
    assert n == len(slow) == len(fast)
    for col in ("task", "example_id", "target", "prediction", "correct_choice", "_line"):
        assert [None if pd.isna(v) else v for v in fast[col]] == [None if pd.isna(v) else v for v in slow[col]], col
    for x, y in zip(fast["choice_logprobs"], slow["choice_logprobs"], strict=True):
        missing = x is None and (y is None or (isinstance(y, float) and np.isnan(y)))
        assert missing or list(x) == pytest.approx(list(y))


def test_a_malformed_line_falls_back_to_the_reporting_reader(tmp_path):
    src = next(LMEVAL.glob("ladder-02/samples_ladder_addition_mc_*.jsonl"))
    d = tmp_path / "ladder-02"
    d.mkdir()
    shutil.copy(next(LMEVAL.glob("ladder-02/results_*.json")), d)
    lines = src.read_text().splitlines()
    lines[7] = lines[7][:50]
    (d / src.name).write_text("\n".join(lines) + "\n")
    b = load_sources([d])
    assert len(b.records) == 99 and [i.line for i in b.issues if i.rows] == [8]


def test_results_only_table_gets_the_aggregate_explanation(tmp_path):
    """A table of aggregates that reports exact match and per-token accuracy of the same outputs
    (tasks ``*-L<n>``, with the number of examples): audit tests exact match against a**L from the
    aggregates, flagged approximate."""
    from emergence_lens.curves import compute_curves
    from emergence_lens.simulate import simulate_records

    recs = simulate_records(tuple(np.logspace(7, 10.5, 8)), (3, 5), 800, seed=4, heterogeneity=1e6)
    t = compute_curves(recs, ["exact_match", "per_token_accuracy"], n_boot=0).table
    t[["family", "model", "scale_params", "task", "metric", "value", "n_examples"]].to_csv(tmp_path / "r.csv",
                                                                                          index=False)
    out = tmp_path / "out"
    assert _audit([str(tmp_path / "r.csv"), "--out", str(out)]).exit_code == 0
    v = pd.read_csv(out / "verdicts.csv", keep_default_na=False)
    em = v[v.metric == "exact_match"].set_index("task")
    assert (em.explained == "explained").all() and em.approximate.astype(str).eq("True").all()
    assert em.loc["digits-L5", "verdict"] == "metric artifact" and "aggregate" in em.loc["digits-L5", "explanation"]
    # a curve that jumps beyond a**L is caught from aggregates too
    bad = t.copy()
    sel = (bad.metric == "exact_match") & (bad.task == "digits-L5") & (bad.scale_params > 3e9)
    bad.loc[sel, "value"] = bad.loc[sel, "value"] + 0.3
    bad[["family", "model", "scale_params", "task", "metric", "value", "n_examples"]].to_csv(tmp_path / "b.csv",
                                                                                            index=False)
    assert _audit([str(tmp_path / "b.csv"), "--out", str(tmp_path / "o2")]).exit_code == 0
    v = pd.read_csv(tmp_path / "o2" / "verdicts.csv", keep_default_na=False).set_index(["task", "metric"])
    assert v.loc[("digits-L5", "exact_match"), "explained"] == "beyond"


def test_fast_reader_rows_are_those_of_the_bytes_read_whatever_the_path_says(tmp_path):
    """DuckDB reads a plain path itself: never a path it would take as a glob pattern (a folder
    named ``ladder[1]`` would match ``ladder1``), and never a file that changed after it was read
    and hashed — then the bytes read are parsed."""
    import os

    from emergence_lens.sources.lmeval import read_lmeval_samples_fast

    src = next(LMEVAL.glob("ladder-04/samples_ladder_addition_mc_*.jsonl"))
    lines = src.read_text().splitlines()
    (tmp_path / "ladder1").mkdir()
    (tmp_path / "ladder[1]").mkdir()
    (tmp_path / "ladder1" / "s.jsonl").write_text("\n".join(lines[:10]) + "\n")
    odd = tmp_path / "ladder[1]" / "s.jsonl"
    odd.write_text("\n".join(lines) + "\n")
    got, n = read_lmeval_samples_fast(odd, {}, "t", odd.read_bytes(), os.stat(odd))
    assert n == len(lines) == 100

    plain = tmp_path / "plain.jsonl"
    plain.write_text("\n".join(lines) + "\n")
    before, data = os.stat(plain), plain.read_bytes()
    plain.write_text("\n".join(lines[:10]) + "\n")  # rewritten after it was read and hashed
    got, n = read_lmeval_samples_fast(plain, {}, "t", data, before)
    assert n == 100 and got.column("example_id").to_pylist() == [str(i) for i in range(100)]
    got, n = read_lmeval_samples_fast(plain, {}, "t", plain.read_bytes(), os.stat(plain))
    assert n == 10  # unchanged since its read: DuckDB read it from the path


def test_a_samples_file_hashed_as_it_streams_is_parsed_as_hashed_even_if_rewritten_meanwhile(tmp_path, monkeypatch):
    """A plain local samples file is hashed as it streams and DuckDB reads its path; when the file is
    rewritten between the two, its bytes are read again, hashed and parsed: the digest in run.json is
    always that of the rows loaded."""
    import hashlib
    import os

    import emergence_lens.sources.samples as load
    from emergence_lens.sources.files import InputFile
    from emergence_lens.sources.issues import IssueLog

    src = next(LMEVAL.glob("ladder-04/samples_ladder_addition_mc_*.jsonl"))
    lines = src.read_text().splitlines()
    path = tmp_path / "samples_t_2024-01-01T00-00-00.jsonl"
    path.write_text("\n".join(lines) + "\n")
    f = InputFile(path, "x")
    frame, digest = load.read_sample_file(f, {"model": "m"}, "t", False, IssueLog(), hash_bytes=True)
    assert f.rows_read == frame.num_rows == 100 and digest == hashlib.sha256(path.read_bytes()).hexdigest()

    real = load.sha256_and_lines

    def hash_then_rewrite(p):  # a writer replaces the file right after it was hashed
        h = real(p)
        path.write_text("\n".join(lines[:10]) + "\n")
        os.utime(path, ns=(1, 1))
        return h

    monkeypatch.setattr(load, "sha256_and_lines", hash_then_rewrite)
    path.write_text("\n".join(lines) + "\n")
    frame, digest = load.read_sample_file(InputFile(path, "x"), {"model": "m"}, "t", False, IssueLog(), hash_bytes=True)
    assert frame.num_rows == 10 and digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_samples_file_rewritten_after_its_parse_while_it_is_still_hashed_is_read_again(tmp_path, monkeypatch):
    """The hash runs on a thread beside DuckDB's parse.  A writer that replaces the file (same lines,
    same size, other rows) after the parse was checked but before the hash read it: the digest would be
    of other bytes than the rows loaded, so the file is read again, and rows and digest are the new
    bytes'."""
    import hashlib
    import os
    import threading

    import emergence_lens.sources.samples as load
    from emergence_lens.sources import lmeval
    from emergence_lens.sources.files import InputFile
    from emergence_lens.sources.issues import IssueLog

    src = next(LMEVAL.glob("ladder-04/samples_ladder_addition_mc_*.jsonl"))
    lines = src.read_text().splitlines()
    path = tmp_path / "samples_t_2024-01-01T00-00-00.jsonl"
    path.write_text("\n".join(lines) + "\n")
    parsed = threading.Event()
    real_check, real_hash = lmeval._unchanged, load.sha256_and_lines

    def parse_checked(*args):  # the parse's own check: the file was unchanged until then
        ok = real_check(*args)
        parsed.set()
        return ok

    def rewrite_then_hash(p):
        assert parsed.wait(20)
        path.write_text("\n".join(reversed(lines)) + "\n")  # as many lines and bytes, rows in another order
        os.utime(path, ns=(1, 1))
        return real_hash(p)

    monkeypatch.setattr(lmeval, "_unchanged", parse_checked)
    monkeypatch.setattr(load, "sha256_and_lines", rewrite_then_hash)
    frame, digest = load.read_sample_file(InputFile(path, "x"), {"model": "m"}, "t", False, IssueLog(), hash_bytes=True)
    assert parsed.is_set() and digest == hashlib.sha256(path.read_bytes()).hexdigest()
    first = json.loads(lines[-1])["doc_id"]
    assert frame.num_rows == 100 and frame.column("example_id")[0].as_py() == str(first)


def test_a_per_run_table_with_a_task_column_gives_one_curve_per_task_condition_and_metric(tmp_path):
    """``--task-col filename`` with ``--by`` and ``--metric-cols``: every task is its own curve (never
    averaged with the others), each point the mean over seeds, computed here by hand."""
    rng = np.random.default_rng(3)
    rows = []
    for k, model in enumerate(["gpt3-350m", "gpt3-1.3b", "gpt3-6.7b", "gpt3-175b"]):
        for task in ("2_digit_addition", "3_digit_multiplication"):
            for prompt in ("plain", "qa"):
                for seed in range(3):
                    rows.append({"model": model, "filename": task, "prompt_type": prompt, "number_of_shots": 2,
                                 "seed": seed, "exact_match_accuracy": float(rng.uniform(0.2 * k, 0.2 * k + 0.2)),
                                 "edit_distance": float(rng.uniform(3 - k, 4 - k))})
    df = pd.DataFrame(rows)
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "out"
    res = _audit([str(path), "--out", str(out), "--model-col", "model", "--task-col", "filename", "--metric-cols",
                  "exact_match_accuracy,edit_distance", "--by", "prompt_type,number_of_shots"])
    assert res.exit_code == 0, res.output
    curves = pd.read_csv(out / "curves.csv")
    assert curves.groupby(["task", "metric"]).ngroups == 2 * 2 * 2  # task x condition x metric
    for (task, prompt, model), g in df.groupby(["filename", "prompt_type", "model"]):
        for metric in ("exact_match_accuracy", "edit_distance"):
            got = curves[(curves.task == f"{task} [prompt_type={prompt}, number_of_shots=2]")
                         & (curves.metric == metric) & (curves.model == model)]
            assert len(got) == 1 and got.value.iloc[0] == pytest.approx(g[metric].mean(), rel=1e-9)
            assert got.replicates.iloc[0] == 3
    # a table with the column named ``task`` reads the same way without the option
    df.rename(columns={"filename": "task"}).to_csv(tmp_path / "t.csv", index=False)
    res = _audit([str(tmp_path / "t.csv"), "--out", str(tmp_path / "o2"), "--metric-cols",
                  "exact_match_accuracy,edit_distance", "--by", "prompt_type,number_of_shots"])
    assert res.exit_code == 0, res.output
    again = pd.read_csv(tmp_path / "o2" / "curves.csv")
    assert again.groupby(["task", "metric"]).ngroups == 8
