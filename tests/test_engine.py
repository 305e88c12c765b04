"""Partitioned audit (issue 25): the same outputs, byte for byte, from the in-memory path, the local
engine (in this process and in worker processes), a Dask LocalCluster, and a resumed run."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app
from emergence_lens.engine import (
    AuditOptions,
    PartitionFailed,
    PartitionStore,
    plan_partitions,
    run_audit_partitions,
)
from emergence_lens.engine import runner as runner_module
from emergence_lens.pipelines.audit import write_audit
from emergence_lens.scoring import Rescored
from emergence_lens.sources import load_sources
from emergence_lens.sources.load import complete_bundle

DATA = Path(__file__).parent / "data"
COMPARED = ("audit.csv", "verdicts.csv", "rescored_curves.csv", "predictions.csv", "issues.csv", "inputs.csv",
            "unresolved.csv", "models.csv", "curves.csv", "summary.md")
cli = CliRunner()


def _in_memory(path: Path, out: Path) -> None:
    write_audit(load_sources([path]), out, n_boot=200)


def _partitioned(path: Path, out: Path, **kw) -> list:
    bundle = load_sources([path], defer_samples=True)
    assert bundle.deferred is not None and bundle.records is None
    parts = plan_partitions(bundle.deferred.jobs)
    results = run_audit_partitions(parts, AuditOptions(n_boot=200), **kw)
    done = complete_bundle(bundle, {o.path: o for r in results for o in r.outcomes}, [i for r in results for i in r.across])
    write_audit(done, out, n_boot=200, rescored_parts=Rescored.concat([r.rescored for r in results if r.rescored]))
    return parts


def _same(a: Path, b: Path) -> list[str]:
    return [f for f in COMPARED if (a / f).exists() != (b / f).exists()
            or ((a / f).exists() and not filecmp.cmp(a / f, b / f, shallow=False))]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = {}
    for name in ("lmeval", "lmeval_wild"):
        d = tmp_path_factory.mktemp(f"mem-{name}")
        _in_memory(DATA / name, d)
        out[name] = d
    return out


@pytest.mark.parametrize("name", ["lmeval", "lmeval_wild"])
def test_partitions_in_this_process_equal_the_in_memory_audit(reference, name, tmp_path):
    parts = _partitioned(DATA / name, tmp_path)
    assert len(parts) >= 2 and parts == sorted(parts, key=lambda p: p.key)
    assert _same(reference[name], tmp_path) == []


def test_partitions_in_worker_processes_equal_the_in_memory_audit(reference, tmp_path):
    _partitioned(DATA / "lmeval_wild", tmp_path, workers=2, serial_bytes=0)
    assert _same(reference["lmeval_wild"], tmp_path) == []


def test_dask_local_cluster_with_two_workers_equals_the_default_engine(tmp_path):
    default, dask = tmp_path / "default", tmp_path / "dask"
    r = cli.invoke(app, ["audit", str(DATA / "lmeval_wild"), "--out", str(default), "--n-boot", "200"])
    assert r.exit_code == 0, r.output
    r = cli.invoke(app, ["audit", str(DATA / "lmeval_wild"), "--out", str(dask), "--n-boot", "200", "--engine", "dask",
                         "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert _same(default, dask) == []
    assert not (dask / ".partitions").exists()  # a completed run leaves nothing to resume

    def panels(d: Path) -> str:
        page = (d / "report.html").read_text()
        return page[page.index('<section id="panels">'):page.index('<section id="figures">')]

    assert panels(default) == panels(dask) and panels(dask).count("<svg ") >= 2


def test_a_killed_run_resumes_from_its_finished_partitions(reference, tmp_path):
    bundle = load_sources([DATA / "lmeval_wild"], defer_samples=True)
    parts = plan_partitions(bundle.deferred.jobs)
    options = AuditOptions(n_boot=200)
    store = PartitionStore(tmp_path / "out", options)
    seen = []

    def stop_after_two(result, resumed):
        seen.append((result.key, resumed))
        if len(seen) == 2:
            raise KeyboardInterrupt  # the user's ^C, after two partitions were stored

    with pytest.raises(KeyboardInterrupt):
        run_audit_partitions(parts, options, store=store, progress=stop_after_two)
    assert len(list(store.root.iterdir())) == 2
    resumed = []
    _partitioned(DATA / "lmeval_wild", tmp_path / "out", store=store,
                 progress=lambda r, was: resumed.append(was))
    assert resumed.count(True) == 2 and resumed.count(False) == len(parts) - 2
    assert _same(reference["lmeval_wild"], tmp_path / "out") == []
    # a changed option is a different fingerprint: nothing stale is reused
    assert PartitionStore(tmp_path / "out", AuditOptions(n_boot=201)).load(parts[0]) is None


def test_a_failing_partition_is_named_and_the_others_are_kept(tmp_path, monkeypatch):
    bundle = load_sources([DATA / "lmeval_wild"], defer_samples=True)
    parts = plan_partitions(bundle.deferred.jobs)
    real = runner_module.run_partition
    bad = parts[1].key

    def flaky(part, options):
        if part.key == bad:
            raise MemoryError("simulated")
        return real(part, options)

    monkeypatch.setattr(runner_module, "run_partition", flaky)
    store = PartitionStore(tmp_path, AuditOptions(n_boot=50))
    with pytest.raises(PartitionFailed) as exc:
        run_audit_partitions(parts, AuditOptions(n_boot=50), store=store)
    msg = str(exc.value)
    assert f"{bad[0]}/{bad[1]}" in msg and parts[1].files[0] in msg and "MemoryError" in msg
    assert len(list(store.root.iterdir())) == 1  # the one before it, finished and stored


def test_engine_options_are_checked():
    r = cli.invoke(app, ["audit", str(DATA / "lmeval"), "--out", "/tmp/never", "--engine", "spark"])
    assert r.exit_code == 2 and "--engine 'spark'" in r.output
    r = cli.invoke(app, ["audit", str(DATA / "lmeval"), "--out", "/tmp/never", "--scheduler", "tcp://x:1"])
    assert r.exit_code == 2 and "--scheduler is for --engine dask" in r.output


def test_report_and_figures_drawn_by_worker_processes_are_the_same_bytes(reference, tmp_path):
    """The audit's workers draw its figures: the same files, and the same report, as drawn here."""
    from emergence_lens.engine import EngineSession
    from emergence_lens.report.html import write_report

    serial = reference["lmeval_wild"]
    write_report(serial, title="same")
    with EngineSession("local", workers=2) as session:
        assert session.executor is not None
        write_audit(load_sources([DATA / "lmeval_wild"]), tmp_path, n_boot=200, executor=session.executor)
        write_report(tmp_path, title="same")
    pngs = sorted(p.name for p in serial.glob("*.png"))
    assert pngs and pngs == sorted(p.name for p in tmp_path.glob("*.png"))
    assert all(filecmp.cmp(serial / f, tmp_path / f, shallow=False) for f in pngs)
    assert (serial / "report.html").read_bytes() == (tmp_path / "report.html").read_bytes()
    assert _same(serial, tmp_path) == []


def test_engine_session_runs_here_when_not_parallel():
    from emergence_lens.engine import EngineSession

    with EngineSession("local", workers=1) as s:
        assert s.executor is None
    with EngineSession("local", workers=4, parallel=False) as s:
        assert s.executor is None
    with pytest.raises(ValueError, match="unknown engine"):
        EngineSession("spark")


def test_run_json_digests_come_from_the_reading_workers_and_match_the_files(tmp_path):
    import json

    from emergence_lens.report.provenance import sha256_file

    r = cli.invoke(app, ["audit", str(DATA / "lmeval"), "--out", str(tmp_path), "--n-boot", "50"])
    assert r.exit_code == 0, r.output
    inputs = json.loads((tmp_path / "run.json").read_text())["inputs"]
    samples = [i for i in inputs if Path(i["path"]).name.startswith("samples_")]
    assert len(samples) == len(list((DATA / "lmeval").rglob("samples_*.jsonl"))) > 0
    assert all(i["sha256"] == sha256_file(i["path"]) for i in inputs)


def test_a_digest_given_by_a_reader_is_used_and_others_are_computed(tmp_path):
    import json

    from emergence_lens.report.provenance import sha256_file, write_run_info

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a")
    b.write_text("b")
    write_run_info(tmp_path / "out", command="audit", inputs=[a, b], started=0.0, finished=1.0,
                   digests={str(a): "given"})
    got = {Path(i["path"]).name: i["sha256"] for i in json.loads((tmp_path / "out" / "run.json").read_text())["inputs"]}
    assert got == {"a.txt": "given", "b.txt": sha256_file(b)}


def test_workers_start_from_a_preloaded_fork_server_where_there_is_one():
    import multiprocessing as mp

    from emergence_lens.workers import PRELOAD, input_bytes, worker_context

    ctx = worker_context()
    assert ctx.get_start_method() == ("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    assert "emergence_lens.engine.partition" in PRELOAD
    assert input_bytes([DATA / "lmeval"]) == sum(p.stat().st_size for p in (DATA / "lmeval").rglob("*") if p.is_file())
    assert input_bytes([DATA / "does-not-exist"]) == 0


def test_a_worker_killed_mid_partition_is_named_by_the_partition_it_was_running(tmp_path):
    """One samples file is a FIFO nobody writes to, so the worker that reads it blocks inside that
    partition; the test kills it (SIGKILL), as the OOM killer would.  The failure names that
    partition — the one in flight — and the partitions finished before are stored."""
    import os
    import signal
    import threading
    import time

    import psutil

    from emergence_lens.engine import EngineSession

    bundle = load_sources([DATA / "lmeval_wild"], defer_samples=True)
    parts = plan_partitions(bundle.deferred.jobs)
    stuck = parts[0]
    fifo = tmp_path / "stuck.jsonl"
    os.mkfifo(fifo)
    stuck.jobs[0].file.path = fifo
    store = PartitionStore(tmp_path / "out", AuditOptions(n_boot=50))
    finished, box = [], {}

    def run() -> None:
        try:
            with EngineSession("local", workers=2) as session:
                run_audit_partitions(parts, AuditOptions(n_boot=50), store=store, session=session,
                                     progress=lambda r, _: finished.append(r.key))
        except PartitionFailed as exc:
            box["exc"] = exc

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 120
    while len(finished) < len(parts) - 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    me = os.getpid()
    workers = [p for p in psutil.Process(me).children(recursive=True) if p.ppid() != me]
    assert workers, "no worker processes found"
    for p in workers:  # the stuck one; the others are idle by now
        p.send_signal(signal.SIGKILL)
    t.join(60)
    assert not t.is_alive()
    exc = box["exc"]
    assert exc.part.key == stuck.key and exc.others == []
    assert "worker process died" in str(exc) and str(fifo) in str(exc) and f"{stuck.key[0]}/{stuck.key[1]}" in str(exc)
    assert len(list(store.root.iterdir())) == len(parts) - 1


@pytest.mark.parametrize("names", [("inspect",), ("lmeval_wild", "inspect", "sources")])
def test_inspect_logs_are_partitioned_and_equal_the_in_memory_audit(names, tmp_path):
    """An Inspect log's samples are read by the partition's worker (the calling process keeps only
    the scorers' curves): the same outputs as reading every log's samples into one table — alone,
    and beside lm-eval samples and damaged files."""
    from emergence_lens.sources import read_metadata

    meta = read_metadata(DATA / "inspect" / "models.csv")
    inputs = [DATA / n for n in names]
    mem, part = tmp_path / "mem", tmp_path / "part"
    write_audit(load_sources(inputs, metadata=meta), mem, n_boot=200)
    bundle = load_sources(inputs, metadata=meta, defer_samples=True)
    assert bundle.deferred is not None and bundle.records is None
    parts = plan_partitions(bundle.deferred.jobs)
    formats = {j.file.format for p in parts for j in p.jobs}
    assert len(parts) >= 2 and formats == ({"inspect_log"} if len(names) == 1 else {"inspect_log", "lmeval_samples"})
    results = run_audit_partitions(parts, AuditOptions(n_boot=200), workers=2, serial_bytes=0)
    assert all(o.sha256 for r in results for o in r.outcomes)
    done = complete_bundle(bundle, {o.path: o for r in results for o in r.outcomes}, [i for r in results for i in r.across])
    write_audit(done, part, n_boot=200, rescored_parts=Rescored.concat([r.rescored for r in results if r.rescored]))
    assert _same(mem, part) == []
    assert (part / "rescored_curves.csv").read_text().count("\n") > 1


def test_an_inspect_log_in_utf16_or_gone_before_its_partition_runs(tmp_path):
    """The worker decodes a log as the calling process did (a UTF-16 JSON log); a log removed in
    between is reported with its sample rows, and every row is still accounted for."""
    import shutil

    from emergence_lens.sources import read_metadata

    meta = read_metadata(DATA / "inspect" / "models.csv")
    logs = tmp_path / "logs"
    shutil.copytree(DATA / "inspect" / "logs", logs)
    wide = min(logs.glob("*.json"))
    wide.write_text(wide.read_text(encoding="utf-8"), encoding="utf-16")  # with its BOM
    write_audit(load_sources([logs], metadata=meta), tmp_path / "mem", n_boot=200)
    bundle = load_sources([logs], metadata=meta, defer_samples=True)
    results = run_audit_partitions(plan_partitions(bundle.deferred.jobs), AuditOptions(n_boot=200))
    done = complete_bundle(bundle, {o.path: o for r in results for o in r.outcomes}, [i for r in results for i in r.across])
    write_audit(done, tmp_path / "part", n_boot=200, rescored_parts=Rescored.concat([r.rescored for r in results if r.rescored]))
    assert _same(tmp_path / "mem", tmp_path / "part") == []

    bundle = load_sources([logs], metadata=meta, defer_samples=True)
    wide.unlink()  # gone after the calling process read it
    results = run_audit_partitions(plan_partitions(bundle.deferred.jobs), AuditOptions(n_boot=200))
    done = complete_bundle(bundle, {o.path: o for r in results for o in r.outcomes}, [i for r in results for i in r.across])
    issues = done.issues.frame()
    gone = issues[issues["file"] == str(wide)]
    assert gone["message"].str.contains("could not be read again for its samples").any()
    row = done.inputs.set_index("file").loc[str(wide)]
    assert row["rows_loaded"] == 0 and row["rows_reported"] == row["rows_read"] > 0
    assert not done.inputs["status"].str.contains("accounting").any()


def test_a_model_twice_in_two_folders_is_reported_alike_in_partitions_and_in_memory(tmp_path):
    """Two folders of one model: the same documents twice. Whichever way the files were grouped, the
    issue names the dropped file's line and its twin's file and line (not a row of one concatenated
    table, which differs between a partition and the whole audit)."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(DATA / "lmeval", runs)
    shutil.copytree(DATA / "lmeval" / "ladder-03", runs / "ladder-03b")
    _in_memory(runs, tmp_path / "mem")
    _partitioned(runs, tmp_path / "part", workers=2, serial_bytes=0)
    assert _same(tmp_path / "mem", tmp_path / "part") == []
    issues = (tmp_path / "part" / "issues.csv").read_text()
    assert issues.count("samples could not form records with the other files") == 2
    assert "ladder-03b/samples_ladder_addition_mc_" in issues and ".jsonl line 1)" in issues


def _mutant_runs(tmp_path: Path, how: str) -> Path:
    """lm-eval folders where a model's files meet another folder's: the same documents twice, or other
    documents (merged into one model's examples), or (``distinct``) a folder of its own model."""
    import json
    import shutil

    runs = tmp_path / how
    shutil.copytree(DATA / "lmeval", runs)
    twin = runs / "ladder-03b"
    shutil.copytree(DATA / "lmeval" / "ladder-03", twin)
    results = next(twin.glob("results_*.json"))
    data = json.loads(results.read_text())
    if how == "other documents":
        for f in twin.glob("samples_*.jsonl"):
            lines = [json.loads(x) for x in f.read_text().splitlines()]
            f.write_text("".join(json.dumps({**r, "doc_id": r["doc_id"] + 10_000}) + "\n" for r in lines))
    elif how == "distinct":
        data["config"]["model_num_parameters"] = int(data["config"]["model_num_parameters"]) + 1
        data["model_name"] = "ladder-03b"
        data["config"]["model_args"] = "pretrained=ladder-03b"
    results.write_text(json.dumps(data))
    return runs


@pytest.mark.parametrize("how", ["same documents", "other documents", "distinct"])
def test_keeping_keys_only_for_files_that_share_a_model_equals_keeping_every_files(how, tmp_path, monkeypatch):
    """The differential test of the partition's shortcut: the checks across files run only on the
    files whose model another file also holds (``shared_models``); with every file's keys kept (the
    general path), every partition's outcomes, issues and scores are the same."""
    from emergence_lens.engine import partition as partition_module
    from emergence_lens.engine.partition import run_partition

    runs = _mutant_runs(tmp_path, how)
    bundle = load_sources([runs], defer_samples=True)
    parts = plan_partitions(bundle.deferred.jobs)
    fast = [run_partition(p, AuditOptions(n_boot=50)) for p in parts]
    monkeypatch.setattr(partition_module, "shared_models",
                        lambda jobs: {(j.resolved.family, j.model) for j in jobs})
    general = [run_partition(p, AuditOptions(n_boot=50)) for p in parts]
    for a, b in zip(fast, general, strict=True):
        assert a.outcomes == b.outcomes and a.across == b.across
        for name in ("audit_rows", "verdicts", "curves", "predictions"):
            pd.testing.assert_frame_equal(getattr(a.rescored, name), getattr(b.rescored, name), check_exact=True)
    issues = [i.message for r in fast for i in r.across]
    if how == "same documents":
        assert len(issues) == 2 and all("could not form records with the other files" in m for m in issues)
    else:
        assert issues == []
        curves = pd.concat([r.rescored.curves for r in fast])
        n = curves.groupby("model")["n_examples"].max()
        assert n["ladder/ladder-03"] == 2 * n["ladder/ladder-04"] if how == "other documents" else n.nunique() == 1


@pytest.fixture(scope="module")
def one_partition(tmp_path_factory):
    """The multiple-choice files of the lm-eval ladder alone: one (family, task) partition of eight
    files (a family of checkpoints, in small), and its in-memory audit."""
    import shutil

    root = tmp_path_factory.mktemp("one-partition")
    runs = root / "runs"
    shutil.copytree(DATA / "lmeval", runs)
    for f in runs.glob("*/samples_*_gen_*.jsonl"):
        f.unlink()
    _in_memory(runs, root / "mem")
    return runs, root / "mem"


def test_a_partition_read_in_runs_by_several_workers_equals_the_in_memory_audit(one_partition, tmp_path):
    """A partition larger than a worker's share is split into runs of files (here: one file each),
    read by two worker processes and finished as one: the same audit as the whole records at once."""
    from emergence_lens.engine.runner import plan_runs

    runs_dir, mem = one_partition
    bundle = load_sources([runs_dir], defer_samples=True)
    parts = plan_partitions(bundle.deferred.jobs)
    runs = plan_runs(parts, range(len(parts)), 2, split_bytes=1)
    assert len(parts) == 1 and len(runs[0]) == len(parts[0].jobs) == 8
    assert [j for run in runs[0] for j in run] == parts[0].jobs
    assert len(plan_runs(parts, range(len(parts)), 2)[0]) == 1  # small files: one run
    _partitioned(runs_dir, tmp_path, workers=2, serial_bytes=0, split_bytes=1)
    assert _same(mem, tmp_path) == []


def test_dask_reads_a_split_partition_as_the_local_engine_does(one_partition, tmp_path):
    runs_dir, mem = one_partition
    _partitioned(runs_dir, tmp_path, engine="dask", workers=2, split_bytes=1)
    assert _same(mem, tmp_path) == []


def test_only_a_partition_larger_than_a_workers_share_is_split_and_the_largest_pieces_start_first():
    """Two tasks on two workers, the multiple-choice one larger than a worker's share: its files are
    read in runs (one worker would read it while the other idles), the other partition whole (a
    split partition's scores wait where it is finished: splitting it too would raise the peak).
    The pieces start largest first, every one once; one worker, or a larger share: nothing split."""
    from emergence_lens.engine.partition import Partition
    from emergence_lens.engine.runner import plan_runs, task_order

    class Job:  # a stand-in with a size
        def __init__(self, size: int) -> None:
            self.size = size

    mc = Partition(("f", "mc"), [Job(366) for _ in range(6)])
    gen = Partition(("f", "gen"), [Job(184) for _ in range(6)])
    small = Partition(("f", "small"), [Job(10)])
    parts = [gen, mc, small]
    runs = plan_runs(parts, range(3), 2, split_bytes=256)
    assert [len(runs[i]) for i in range(3)] == [1, 6, 1]
    assert [j for r in runs[1] for j in r] == mc.jobs
    order = task_order(parts, runs)
    assert order == [(0, None)] + [(1, r) for r in range(6)] + [(2, None)]  # 1,104 bytes whole, then runs of 366
    assert len(plan_runs(parts, range(3), 1, split_bytes=256)[1]) == 1  # one worker: its share is all
    assert len(plan_runs(parts, range(3), 2, split_bytes=4096)[1]) == 1  # not larger than split_bytes
    # ties: partition order, then run order; a run larger than a whole partition starts before it
    tied = [Partition(("f", "a"), [Job(5), Job(5)]), Partition(("f", "b"), [Job(100), Job(3), Job(5)])]
    order = task_order(tied, {0: [[tied[0].jobs[0]], [tied[0].jobs[1]]], 1: [tied[1].jobs]})
    assert order == [(1, None), (0, 0), (0, 1)]
    order = task_order(tied, {1: [[tied[1].jobs[0]], [tied[1].jobs[1]], [tied[1].jobs[2]]], 0: [tied[0].jobs]})
    assert order == [(1, 0), (0, None), (1, 2), (1, 1)]


def test_split_runs_are_consecutive_and_balanced():
    """Runs are the files in order, each at most ``max_bytes`` (or one file), of about equal bytes
    (an even cut moves a file's bytes at most), as many as a multiple of the workers where the
    files allow: two workers given the runs largest first end together, not one a run later."""
    from emergence_lens.engine.partition import Partition, split_partition

    class Job:  # a stand-in with a size
        def __init__(self, size: int) -> None:
            self.size = size

    rng = np.random.default_rng(7)
    shapes = [[5, 5, 5, 5, 40, 5, 5, 5, 5, 20], [29] * 100, [0, 0, 7, 0], list(rng.integers(0, 60, 40)),
              list(rng.integers(1, 4, 300)) + [500]]
    for sizes in shapes:
        part = Partition(("f", "t"), [Job(int(s)) for s in sizes])
        total = sum(sizes)
        for max_bytes in (1, 10, 30, 50, 100, 256, 1000, 10_000):
            for workers in (1, 2, 3):
                runs = split_partition(part, max_bytes, workers)
                assert [j for r in runs for j in r] == part.jobs and all(runs)
                assert all(len(r) == 1 or sum(j.size for j in r) <= max_bytes for r in runs)
                if total <= max_bytes:
                    assert len(runs) == 1
                    continue
                even = -(-total // max_bytes)
                if max(sizes) * 2 <= max_bytes and len(sizes) >= 2 * even * workers:  # files small beside a run
                    assert len(runs) % workers == 0
                    bytes_ = [sum(j.size for j in r) for r in runs]
                    assert max(bytes_) - min(bytes_) <= 2 * max(sizes)
    # 100 equal checkpoints over two workers: 14 runs of 7 or 8 files, 50 files a worker, not 13 runs
    runs = split_partition(Partition(("f", "t"), [Job(29) for _ in range(100)]), 256, 2)
    assert len(runs) == 14 and sorted({len(r) for r in runs}) == [7, 8]
    assert len(split_partition(Partition(("f", "t"), [Job(s) for s in shapes[0]]), 1)) == len(shapes[0])