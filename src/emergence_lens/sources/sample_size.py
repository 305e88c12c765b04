"""How many test examples stand behind each published aggregate value.

Results-only sources (lm-eval results files, leaderboard tables, papers' tables) report one number
per (model, task, metric).  Its resolution and its confidence interval need the number of examples
``n``, taken from the first of:

1. the user (``--n-examples TASK=N``): ``n_source = "user"``;
2. the source itself (lm-eval's ``n-samples.effective``, a table's ``n``/``n_examples`` column):
   ``n_source = "reported"``;
3. the reported standard error of a binomial metric (an accuracy, 0/1 per example):
   ``se = sqrt(p (1 - p) / n)``, so ``n = p (1 - p) / se**2`` rounded, for ``0 < p < 1``:
   ``n_source = "stderr"``.  lm-eval's stderr of ``acc`` is the sample standard deviation over
   ``sqrt(n)`` (``ddof=1``), so this recovers ``n - 1``, within one example.  A value of 0 or 1
   (stderr 0) takes the median ``n`` of the other models on the same task:
   ``n_source = "stderr (same task)"``.

Otherwise ``n`` stays unknown (``n_source = ""``).  A non-binomial metric's stderr is kept as it is
and gives a normal interval instead (:mod:`emergence_lens.emergence.parametric`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from emergence_lens.metrics.reported import CHOICE_ACCURACY, GENERATION_ACCURACY

__all__ = ["fill_sample_sizes", "parse_n_examples", "BINOMIAL_METRICS"]

#: Metrics that are a mean of 0/1 scores per example, so their stderr determines ``n``.
BINOMIAL_METRICS = frozenset(CHOICE_ACCURACY | GENERATION_ACCURACY)


def parse_n_examples(items: list[str] | None) -> dict[str, int]:
    """``["arc_easy=2376", "hellaswag=10042"]`` -> ``{"arc_easy": 2376, ...}``.

    Raises:
        ValueError: an item without ``=``, or a count that is not a whole number >= 1 (named).
    """
    out: dict[str, int] = {}
    for item in items or []:
        task, sep, raw = str(item).rpartition("=")
        if not sep or not task.strip():
            raise ValueError(f"--n-examples {item!r}: expected TASK=N")
        try:
            n = float(raw)
        except ValueError:
            raise ValueError(f"--n-examples {item!r}: {raw!r} is not a number") from None
        if not np.isfinite(n) or n < 1 or n != int(n):
            raise ValueError(f"--n-examples {item!r}: N must be a whole number >= 1")
        out[task.strip()] = int(n)
    return out


def fill_sample_sizes(curves: pd.DataFrame, n_examples: Mapping[str, int] | None = None) -> pd.DataFrame:
    """A copy of ``curves`` with ``n_examples`` filled where it can be known and ``n_source`` saying
    from where (module docstring).  ``n_examples`` (the user's) is matched on ``subtask`` first,
    then ``task``."""
    df = curves.copy()
    n = pd.to_numeric(df["n_examples"], errors="coerce") if "n_examples" in df else pd.Series(np.nan, index=df.index)
    se = pd.to_numeric(df["stderr"], errors="coerce") if "stderr" in df else pd.Series(np.nan, index=df.index)
    source = pd.Series(np.where(n.notna() & (n >= 1), "reported", ""), index=df.index, dtype=object)
    n = n.where(n >= 1)
    if n_examples:
        sub = df["subtask"].astype(str).map(n_examples) if "subtask" in df else pd.Series(np.nan, index=df.index)
        user = sub.where(sub.notna(), df["task"].astype(str).map(n_examples))
        user = pd.to_numeric(user, errors="coerce")
        hit = user.notna()
        n = n.where(~hit, user)
        source[hit] = "user"
    base = df["metric"].astype(str).str.split("[", n=1).str[0]
    v = pd.to_numeric(df["value"], errors="coerce")
    binomial = base.isin(list(BINOMIAL_METRICS))
    derivable = n.isna() & binomial & (se > 0) & (v > 0) & (v < 1)
    if derivable.any():
        derived = np.round(v[derivable] * (1 - v[derivable]) / se[derivable] ** 2)
        derived = derived.where(derived >= 1)
        n = n.where(~derivable, derived)
        source[derivable & n.notna()] = "stderr"
    # A value of exactly 0 or 1 has stderr 0 and says nothing about n; the other models of the same
    # task were scored on the same examples, so their n is its n.
    keys = [c for c in ("task", "subtask", "shots") if c in df]
    from_se = n.where(source == "stderr")
    if from_se.notna().any() and keys:
        per_task = from_se.groupby([df[k].astype(str) for k in keys]).transform("median")
        borrow = n.isna() & binomial & per_task.notna()
        n = n.where(~borrow, np.round(per_task))
        source[borrow] = "stderr (same task)"
    df["n_examples"] = n
    df["n_source"] = source
    if "stderr" not in df:
        df["stderr"] = np.nan
    return df
