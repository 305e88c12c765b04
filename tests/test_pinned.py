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
