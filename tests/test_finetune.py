"""Emergence prediction by finetuning (Snell et al. 2024): the ``finetune`` command (finetune a
ladder's smaller members on k examples, evaluate, resumable, seeded) and the ``finetune`` predictor
(an emergence law fitted on them, extrapolated to no finetuning)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app
from emergence_lens.emergence.forecast import CurveData, Finetuned, fit_emergence_law, get_predictor
from emergence_lens.emergence.forecast.finetune import emergence_law

pytest.importorskip("transformers")



def _ladder_records(path: Path) -> Path:
    """Records of ladder-01..04 on addition-L4 and -L5 (40 problems; the shipped members' sizes and
    pretraining losses), exact match rising with size: what `reproduce arithmetic` would give predict."""
    from emergence_lens.models.ladder import shipped_ladder
    from emergence_lens.records import write_records

    rows = []
    for i in range(1, 5):
        meta = json.loads((shipped_ladder() / f"ladder-0{i}" / "ladder.json").read_text())
        for task in ("addition-L4", "addition-L5"):
            for j in range(40):
                target = str(1000 + j)
                rows.append({"family": "ladder", "model": meta["name"], "task": task, "example_id": str(j),
                             "scale_params": float(meta["non_embedding_params"]), "target": target,
                             "prediction": target if j < 4 * i else "0", "pretrain_loss": meta["final_loss"]})
    write_records(pd.DataFrame(rows), path)
    return path


def _family(e0: float = 1.1, b: float = 0.15, w: float = 0.1, n: int = 4000, seed: int = 0):
    """Eight models, the six smallest finetuned on 256/1024/4096 examples, exactly on the law; binomial
    replicates of ``n`` examples."""
    rng = np.random.default_rng(seed)
    t = np.linspace(3.0, 5.5, 8)
    loss = 2.0 * 10 ** (-0.35 * (t - 3.0))
    u = -np.log(loss)
    ks = np.array([256.0, 1024.0, 4096.0])
    truth = np.array([e0, b, np.log(w)])
    base = emergence_law(truth, u, np.zeros(8), (0.0, 1.0))
    fine = np.vstack([emergence_law(truth, u, np.full(8, k), (0.0, 1.0)) for k in ks])
    fine[:, 6:] = np.nan
    reps = rng.binomial(n, base[None, :], size=(200, 8)) / n
    freps = rng.binomial(n, np.nan_to_num(fine)[None], size=(200, 3, 8)) / n
    freps[:, :, 6:] = np.nan
    d = CurveData(t, base, reps, loss=loss, finetuned=Finetuned(ks, fine, freps))
    return d, base, truth


def test_the_emergence_law_is_recovered_and_carried_back_to_no_finetuning():
    d, base, truth = _family()
    assert base[:6].max() < 0.05 and base[6:].min() > 0.3  # the curve itself emerges only beyond the fit
    f = get_predictor("finetune").func(d, 6, d.t[6:], np.array([6, 7]))
    assert np.allclose(f.point, base[6:], atol=0.02), (f.point, base[6:])
    assert "emergence law" in f.fit and "log(1 + k)" in f.fit
    lo, hi = np.percentile(f.reps, [2.5, 97.5], axis=0)
    assert (lo <= base[6:] + 0.02).all() and (hi >= base[6:] - 0.02).all()
    u, k, y = (-np.log(np.tile(d.loss[:6], 4)), np.repeat([0.0, 256, 1024, 4096], 6),
               np.concatenate([base[:6], d.finetuned.values[:, :6].ravel()]))
    assert np.allclose(fit_emergence_law(u, k, y, (0.0, 1.0)), truth, atol=0.02)
    # the same (flat) curve on the fitted models, finetuned curves that say "later": a later forecast, right too
    other, base2, _ = _family(e0=1.3, b=0.18)
    assert base2[:6].max() < 0.05
    g = get_predictor("finetune").func(other, 6, d.t[6:], np.array([6, 7]))
    assert np.allclose(g.point, base2[6:], atol=0.02) and (g.point < f.point - 0.1).all()


def test_the_finetune_predictor_says_why_it_does_not_apply():
    d, _, _ = _family()
    pred = get_predictor("finetune").func
    at = np.array([6, 7])
    plain = CurveData(d.t, d.observed, d.replicates, loss=d.loss)
    assert pred(plain, 6, d.t[6:], at).startswith("no finetuned models")
    flat = Finetuned(d.finetuned.ks, np.where(np.isfinite(d.finetuned.values), 0.01, np.nan),
                     np.where(np.isfinite(d.finetuned.reps), 0.01, np.nan))
    assert "nothing emerged" in pred(CurveData(d.t, d.observed, d.replicates, loss=d.loss, finetuned=flat), 6,
                                     d.t[6:], at)
    no_loss = d.loss.copy()
    no_loss[7] = np.nan
    assert "no measured pretraining loss" in pred(CurveData(d.t, d.observed, d.replicates, loss=no_loss,
                                                            finetuned=d.finetuned), 6, d.t[6:], at)
    with pytest.raises(ValueError, match="finetuning sizes"):
        Finetuned(np.array([0.0]), np.zeros((1, 8)), np.zeros((5, 1, 8)))
    with pytest.raises(ValueError, match="finetuned values"):
        CurveData(d.t, d.observed, d.replicates, finetuned=Finetuned(np.array([1.0]), np.zeros((1, 3)),
                                                                      np.zeros((5, 1, 3))))


def test_finetuning_data_comes_from_the_training_half_only():
    from emergence_lens.tasks import generate_arithmetic
    from emergence_lens.tasks.arithmetic import is_heldout

    train = generate_arithmetic("plus", 3, 300, seed=3, k_shot=0, target_length=4, format="compact",
                                training_half=True)
    for e in train:
        a, b = (int(v) for v in e.prompt.rstrip("=").split("+"))
        assert not is_heldout(a, b, "plus") and len(e.target) == 4
    with pytest.raises(ValueError, match="exclude each other"):
        generate_arithmetic("plus", 3, 5, heldout=True, training_half=True)


def test_finetune_recipe_and_schedule():
    from emergence_lens.models.finetune import FinetuneRecipe, finetune_lr

    r = FinetuneRecipe(steps=100, lr=1e-2, warmup=10)
    assert finetune_lr(0, r) == pytest.approx(1e-3, rel=0.01)
    assert finetune_lr(9, r) == pytest.approx(1e-2 * (0.1 + 0.45 * (1 + np.cos(np.pi * 0.09))))
    assert finetune_lr(50, r) == pytest.approx(0.55e-2)
    assert finetune_lr(100, r) == pytest.approx(1e-3)
    for bad in (dict(steps=0), dict(lr=0.0), dict(batch_size=0), dict(warmup=-1)):
        with pytest.raises(ValueError, match="bad finetuning recipe"):
            FinetuneRecipe(**bad)


def test_finetune_command_is_seeded_resumable_and_feeds_predict(tmp_path):
    out = tmp_path / "ft"
    args = ["finetune", "--out", str(out), "--task", "addition-L4", "--k", "16,64", "--fit-on", "2", "--steps", "6",
            "--batch-size", "8", "--n-eval", "40", "--n-boot", "50"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "4 finetunes run, 0 reused" in res.output
    table = pd.read_csv(out / "finetune.csv")
    assert set(table["finetune_examples"]) == {16, 64} and set(table["model"]) == {"ladder-01", "ladder-02"}
    assert set(table["metric"]) == {"exact_match", "per_token_accuracy", "target_token_probability"}
    assert (table["n_examples"] == 40).all() and (table["cpu_seconds"] > 0).all()
    first = (out / "finetune.csv").read_bytes()

    def results() -> pd.DataFrame:  # all but the CPU seconds, which are measured
        return pd.read_csv(out / "finetune.csv").drop(columns="cpu_seconds")

    listed = json.loads((out / "run-manifest.json").read_text())["files"]
    assert "finetune.csv" in listed and "runs/addition-L4/k16/seed0/ladder-01.parquet" in listed
    # a rerun reuses every finished job; a job whose stamp is gone runs again, to the same bytes
    res = CliRunner().invoke(app, args)
    assert "0 finetunes run, 4 reused" in res.output and (out / "finetune.csv").read_bytes() == first
    (out / "runs" / "addition-L4" / "k64" / "seed0" / "ladder-02.json").unlink()
    res = CliRunner().invoke(app, args)
    assert "1 finetunes run, 3 reused" in res.output, res.output
    pd.testing.assert_frame_equal(results(), table.drop(columns="cpu_seconds"))
    # another recipe is another job
    res = CliRunner().invoke(app, [*args[:-2], "--n-boot", "50", "--lr", "1e-3"])
    assert "4 finetunes run, 0 reused" in res.output

    # predict --finetuned: the finetune method gets these curves; a table that matches none is refused
    pred = tmp_path / "pred"
    records = _ladder_records(tmp_path / "records.parquet")
    res = CliRunner().invoke(app, ["predict", str(records), "--fit-on", "3", "--methods",
                                   "finetune,naive", "--metric", "exact_match", "--n-boot", "50", "--no-figures",
                                   "--finetuned", str(out), "--out", str(pred)])
    assert res.exit_code == 0, res.output
    bt = pd.read_csv(pred / "backtest.csv")
    row = bt[(bt.method == "finetune") & (bt.task == "addition-L4")].iloc[0]
    # its data arrived: after 6 steps nothing emerged on ladder-01/02, and the method says so
    assert "nothing emerged" in str(row.status), row.status
    other = bt[(bt.method == "finetune") & (bt.task == "addition-L5")].iloc[0]
    assert str(other.status).startswith("no finetuned models")
    wrong = tmp_path / "wrong.csv"
    table.assign(task="no-such-task").to_csv(wrong, index=False)
    res = CliRunner().invoke(app, ["predict", str(records), "--fit-on", "3", "--no-figures", "--metric", "exact_match",
                                   "--n-boot", "20", "--finetuned", str(wrong), "--out", str(tmp_path / "p2")])
    assert res.exit_code != 0 and "none of its" in res.output
    res = CliRunner().invoke(app, ["predict", str(records), "--no-figures",
                                   "--finetuned", str(tmp_path / "nothing"), "--out", str(tmp_path / "p3")])
    assert res.exit_code != 0 and "no finetune.csv" in res.output
    # one value that is not a number: refused, naming its line and field (not dropped silently)
    bad = tmp_path / "bad.csv"
    mutant = table.astype({"value": object})
    mutant.loc[2, "value"] = "n/a"
    mutant.to_csv(bad, index=False)
    res = CliRunner().invoke(app, ["predict", str(records), "--fit-on", "3", "--no-figures", "--metric", "exact_match",
                                   "--n-boot", "20", "--finetuned", str(bad), "--out", str(tmp_path / "p4")])
    assert res.exit_code != 0 and "line 4, field value" in res.output and "'n/a'" in res.output, res.output


def test_a_finetuning_table_loads_each_run_once_or_says_which_line_is_wrong():
    from emergence_lens.backtesting import finetune_rows

    rows = pd.DataFrame({"family": "ladder", "task": "t", "metric": "exact_match", "model": ["a", "a", "b", "b"],
                         "finetune_examples": [16, 64, 16, 64], "seed": 0, "value": [0.1, 0.2, 0.3, 0.4]})
    pd.testing.assert_frame_equal(finetune_rows(rows), rows.astype({"finetune_examples": float}))
    twice = pd.concat([rows, rows.iloc[[1]]], ignore_index=True)  # one run's row twice: counted once
    assert len(finetune_rows(twice)) == 4
    conflict = pd.concat([rows, rows.iloc[[1]].assign(value=0.9)], ignore_index=True)
    with pytest.raises(ValueError, match=r"lines 3, 6: 2 rows for model 'a' at finetune_examples=64.0, seed 0 .*"
                                         "different values"):
        finetune_rows(conflict)
    with pytest.raises(ValueError, match="no seed column"):
        finetune_rows(pd.concat([rows, rows.iloc[[1]].assign(value=0.9)]).drop(columns="seed"))
    with pytest.raises(ValueError, match=r"line 3, field finetune_examples: expected a finite number, found ''"):
        finetune_rows(rows.astype({"finetune_examples": object}).assign(
            finetune_examples=lambda t: t["finetune_examples"].where(t.index != 1, "")))
    with pytest.raises(KeyError, match="value"):
        finetune_rows(rows.drop(columns="value"))


def test_finetune_on_task_files_refuses_shared_prompts_and_options_that_do_not_fit(tmp_path):
    """Any task as two files (as `evaluate` reads them): finetuned on a seeded shuffle of --train,
    evaluated on --eval; a prompt in both, a k beyond the file, --task beside them: refused."""
    rows = [{"context": f"{a}+{b}=", "completion": f" {a + b}"} for a in range(10, 40) for b in (11, 23)]
    train, held = rows[:40], rows[40:60]

    def write(name: str, items: list[dict]) -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in items))
        return path

    tr, ev = write("sums.jsonl", train), write("sums_eval.jsonl", held)
    out = tmp_path / "ft"
    base = ["finetune", "--out", str(out), "--k", "8,16", "--fit-on", "2", "--steps", "4", "--batch-size", "4",
            "--n-eval", "20", "--n-boot", "20"]
    res = CliRunner().invoke(app, [*base, "--train", str(tr), "--eval", str(ev)])
    assert res.exit_code != 0 and "no examples of task" in res.output  # a task is named after its file
    (tmp_path / "eval").mkdir()
    ev = write("eval/sums.jsonl", held)
    res = CliRunner().invoke(app, [*base, "--train", str(tr), "--eval", str(ev)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "finetune.csv")
    assert set(table["finetune_examples"]) == {8, 16} and (table["n_examples"] == 20).all()
    assert set(table["task"]) == {"sums"}
    (tmp_path / "shared").mkdir()
    overlap = write("shared/sums.jsonl", held[:5] + train[:1])
    res = CliRunner().invoke(app, [*base, "--train", str(tr), "--eval", str(overlap)])
    assert res.exit_code != 0 and "also training prompts" in res.output
    res = CliRunner().invoke(app, [*base[:4], "100", *base[5:], "--train", str(tr), "--eval", str(ev)])
    assert res.exit_code != 0 and "has 40 training examples" in res.output
    res = CliRunner().invoke(app, [*base, "--train", str(tr), "--eval", str(ev), "--task", "addition-L4"])
    assert res.exit_code != 0 and "give neither" in res.output
    res = CliRunner().invoke(app, [*base, "--train", str(tr)])
    assert res.exit_code != 0 and "go together" in res.output
    res = CliRunner().invoke(app, [*base[:6], "9", *base[7:], "--train", str(tr), "--eval", str(ev)])
    assert res.exit_code != 0 and "has 8 members" in res.output
