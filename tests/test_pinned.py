"""Pinned worker processes: the environment that makes torch's CPU arithmetic the same on every x86-64
CPU is in place before torch loads there; results come back in call order; messages are forwarded."""

from __future__ import annotations

import os

import pytest

from emergence_lens.models.pinned import PINNED_ENV, run_pinned


def _report_env(tag: int, queue) -> dict[str, object]:
    queue.put(("seen", tag))
    env = {k: os.environ.get(k) for k in PINNED_ENV}
    import torch

    return {"tag": tag, "env": env, "threads": torch.get_num_threads(),
            "capability": torch.backends.cpu.get_cpu_capability()}


def _fail(queue) -> None:
    raise ValueError("worker failed on purpose")


def test_workers_run_under_the_pinned_environment_and_results_keep_call_order():
    pytest.importorskip("torch")
    before = {k: os.environ.get(k) for k in PINNED_ENV}
    messages: list[object] = []
    results = run_pinned(_report_env, [(0,), (1,), (2,)], jobs=2, on_message=messages.append, order=[2, 1, 0])
    assert [r["tag"] for r in results] == [0, 1, 2]
    for r in results:
        assert r["env"] == PINNED_ENV
        assert r["threads"] == 1
        assert r["capability"] in ("AVX2", "DEFAULT")  # never AVX512 / AMX, whatever this CPU has
    assert sorted(messages) == [("seen", 0), ("seen", 1), ("seen", 2)]
    assert {k: os.environ.get(k) for k in PINNED_ENV} == before  # the parent's environment is restored


def test_a_worker_error_is_raised_in_the_caller():
    with pytest.raises(ValueError, match="on purpose"):
        run_pinned(_fail, [()], jobs=1)
    assert run_pinned(_fail, [], jobs=1) == []


def _sleep_long(tag: int, queue) -> int:
    import time

    queue.put(("started", tag, os.getpid()))
    time.sleep(120)
    return tag


def test_an_interruption_stops_the_workers_at_once():
    """Ctrl-C (here: the progress callback raising) must not wait for the workers' long jobs, and
    must leave no worker running."""
    import multiprocessing as mp
    import time

    pids: list[int] = []

    def stop(message) -> None:
        pids.append(message[2])
        raise KeyboardInterrupt

    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        run_pinned(_sleep_long, [(0,), (1,)], jobs=2, on_message=stop)
    assert time.perf_counter() - t0 < 60
    time.sleep(0.5)
    assert pids and not [c for c in mp.active_children() if c.pid in pids]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _report_pid_and_sleep(path: str, queue) -> None:
    import time
    from pathlib import Path

    Path(path).write_text(str(os.getpid()))
    time.sleep(120)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in os.listdir(f"/proc/{p}/task"):
            with open(f"/proc/{p}/task/{task}/children") as f:
                kids = [int(c) for c in f.read().split()]
            out += kids
            todo += kids
    return out


def _alive(pid: int) -> bool:
    """Running (an exited orphan shows as a zombie until init reaps it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return not f.read().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return False


def test_a_worker_whose_parent_is_killed_exits(tmp_path):
    """A killed `train-ladder` (SIGKILL: no cleanup runs) must leave no process behind: not its
    members training on, not the queue's server, not the resource tracker."""
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "worker.pid"
    code = ("from emergence_lens.models.pinned import run_pinned\n"
            "from tests.test_pinned import _report_pid_and_sleep\n"
            f"run_pinned(_report_pid_and_sleep, [({str(pid_file)!r},)], jobs=1)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        deadline = time.time() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.time() < deadline and parent.poll() is None, "worker never started"
            time.sleep(0.2)
        worker = int(pid_file.read_text())
        children = _descendants(parent.pid)  # the worker, the queue's server, the resource tracker
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert worker in children and len(children) >= 2
        deadline = time.time() + 15
        while time.time() < deadline:
            alive = [pid for pid in children if _alive(pid)]
            if not alive:
                return
            time.sleep(0.2)
        for pid in alive:
            os.kill(pid, signal.SIGKILL)
        pytest.fail(f"processes {alive} outlived their killed parent by 15 s")
    finally:
        if parent.poll() is None:
            parent.kill()
