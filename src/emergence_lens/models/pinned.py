"""Run torch work in fresh processes whose floating point depends as little as possible on the CPU.

torch on CPU picks its code paths by the CPU it finds: oneMKL's ``sgemm`` dispatches on the vendor
and instruction set (AVX-512 and AMX on a recent Xeon, a different AVX2 path on an AMD EPYC), and
ATen's vectorised kernels on the widest instruction set available.  The same program with the same
seed then gives the same bytes on one machine but not on another: training the ladder's smallest
member for 3,000 steps gave different ``model.safetensors`` on an AMD EPYC and on an Intel Xeon,
with losses equal for the first four steps, although oneMKL's branch was pinned to ``AVX2`` --
which oneMKL honours on Intel CPUs only (on other vendors it silently falls back to ``AUTO``).

:data:`PINNED_ENV` fixes all three, before torch is imported, in a spawned process:

* ``MKL_CBWR=COMPATIBLE`` -- oneMKL's conditional-numerical-reproducibility branch that is
  documented to give the same results on Intel *and* Intel-compatible (AMD) processors (SSE2
  without the approximate ``rcpps``/``rsqrtps``; fixed cache sizes, deterministic reductions);
* ``ATEN_CPU_CAPABILITY=avx2`` -- ATen's own kernels (softmax, layer norm, GELU, reductions) run
  their AVX2 build on every CPU that has AVX2 (exact IEEE operations and FMA, no approximations);
* ``ONEDNN_MAX_CPU_ISA=AVX2`` and one thread (``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``), so
  neither the core count nor the number of concurrent jobs changes a reduction order.

:func:`run_pinned` runs ``fn(*args, queue)`` for a list of argument tuples, ``jobs`` at a time, each
in a spawned process under that environment, forwards what the workers put on ``queue`` to
``on_message`` (progress), and returns the results in the order of the calls.  If anything fails
or is interrupted, the other workers are stopped at once, and a worker whose parent is killed
exits by itself.  The ladder is
trained (:func:`emergence_lens.models.ladder.train_ladder`) and evaluated
(:mod:`emergence_lens.experiments.arithmetic`) this way.

What this achieves was measured on an Intel Xeon (AVX-512, AMX) and an AMD EPYC (Zen 3):
*evaluating* the same weights gives the same bytes on both (greedy outputs, log-likelihoods; the
vision ladders are evaluated in float64 on top), but *training* does not: pinned, the smallest
arithmetic member follows the other CPU's loss curve bit for bit for 24 steps, within 2e-7 relative
to step 100, then apart.  Something in the kernels still differs between those CPUs in a way
oneMKL's vendor switch alone does not reproduce (an interposed vendor check changed nothing on the
Intel machine).  ``tests/test_ladder_shipped.py`` tests same-machine bytes and that tolerance.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["PINNED_ENV", "run_pinned"]

#: Environment of a pinned worker process; read by oneMKL, ATen and oneDNN when torch loads.
PINNED_ENV: dict[str, str] = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MKL_CBWR": "COMPATIBLE",
                              "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def run_pinned(fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]], *, jobs: int = 1,
               on_message: Callable[[Any], None] | None = None,
               order: Sequence[int] | None = None) -> list[Any]:
    """``[fn(*args, queue) for args in calls]``, each call in a fresh pinned process.

    ``fn`` must be a module-level function (it is imported by name in the worker).  ``order`` is the
    order in which calls are submitted (e.g. longest first); results come back in call order.  A
    worker's exception is raised here.
    """
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import ProcessPoolExecutor

    if not calls:
        return []
    ctx = mp.get_context("spawn")
    before = set(mp.active_children())
    saved = {k: os.environ.get(k) for k in PINNED_ENV}
    os.environ.update(PINNED_ENV)  # inherited by the spawned workers, read before torch loads there
    manager = pool = None
    try:
        from multiprocessing.managers import SyncManager

        # the queue's server process leaves with its parent too (a SIGKILLed caller runs no cleanup)
        manager = SyncManager(ctx=ctx)
        manager.start(_exit_with_parent, (os.getpid(),))
        pool = ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx, initializer=_exit_with_parent,
                                   initargs=(os.getpid(),))
        q = manager.Queue()
        submitted = {i: pool.submit(fn, *calls[i], q) for i in (order or range(len(calls)))}
        futures = [submitted[i] for i in range(len(calls))]

        def drain(timeout: float) -> None:
            try:
                message = q.get(timeout=timeout)
            except queue_mod.Empty:
                return
            if on_message is not None:
                on_message(message)

        while not all(f.done() for f in futures):
            drain(0.5)
        while not q.empty():
            drain(0.0)
        results = [f.result() for f in futures]
        pool.shutdown()
        return results
    except BaseException:
        # Ctrl-C, a failed worker, a failing callback: stop the other workers now instead of waiting
        # for their (possibly long) jobs; a killed training resumes from its last checkpoint.
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        for child in set(mp.active_children()) - before:
            child.terminate()
        raise
    finally:
        if manager is not None:
            manager.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _exit_with_parent(parent: int) -> None:
    """Worker (and queue server) initializer: leave when the process that started the pool is gone
    (killed, not just interrupted), instead of training on as an orphan."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()
