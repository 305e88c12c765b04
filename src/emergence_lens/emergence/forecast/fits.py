"""Curve fits the predictors share: a line in the x position ``t`` on a link scale, chosen among
candidates by held-out error.

* :func:`fit_lines` — least-squares ``z = b0 + b1 t`` for many rows (bootstrap replicates) at once;
* :func:`extrapolate` — fit ``link(v)`` linear in ``t``, return ``link^-1`` at new positions;
* :func:`heldout_errors` / :func:`choose_link` — rolling origin: fit on the first ``j`` points,
  predict point ``j``, over the last two points; the candidate with the smallest mean error wins;
* :func:`extrapolate_selected` — the selection redone on every replicate, so model-selection
  uncertainty is in the interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emergence_lens.emergence.transforms import Link

__all__ = ["fit_lines", "extrapolate", "heldout_errors", "choose_link", "extrapolate_selected"]


def fit_lines(t: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares lines ``z = b0 + b1 t`` for every row of ``z`` (shape ``(B, K)``)."""
    t = np.asarray(t, dtype=float)
    z = np.atleast_2d(np.asarray(z, dtype=float))
    tc = t - t.mean()
    denom = float(np.sum(tc ** 2))
    if denom == 0:
        raise ValueError("need at least two distinct x positions to fit a line")
    b1 = (z - z.mean(axis=1, keepdims=True)) @ tc / denom
    b0 = z.mean(axis=1) - b1 * t.mean()
    return b0, b1


def extrapolate(link: Link, t_fit: np.ndarray, v_fit: np.ndarray, t_new: np.ndarray) -> np.ndarray:
    """Fit ``link(v) = b0 + b1 t`` per row of ``v_fit`` and return ``link^-1`` at ``t_new``."""
    z = link.apply(v_fit)
    z = np.where(np.isfinite(z), z, np.nan)
    b0, b1 = fit_lines(t_fit, np.nan_to_num(z, nan=0.0))
    return link.invert(b0[:, None] + b1[:, None] * np.asarray(t_new, dtype=float)[None, :])


def heldout_errors(link: Link, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rolling-origin error of ``link`` for every row of ``v`` (shape ``(B, K)``): fit on the first
    ``j`` points, predict point ``j``, for ``j`` = max(2, K-2) .. K-1; mean ``|error|`` on the
    original scale (``inf`` where the link cannot take the values)."""
    v = np.atleast_2d(v)
    K = v.shape[1]
    errs = []
    for j in range(max(2, K - 2), K):
        z = link.apply(v[:, :j])
        pred = extrapolate(link, t[:j], v[:, :j], t[j:j + 1])[:, 0]
        e = np.abs(pred - v[:, j])
        errs.append(np.where(np.isfinite(z).all(axis=1) & np.isfinite(e), e, np.inf))
    return np.mean(errs, axis=0) if errs else np.zeros(v.shape[0])


def choose_link(t: np.ndarray, v: np.ndarray, links: Sequence[Link]) -> tuple[Link, dict[str, float]]:
    """The candidate with the smallest held-out error (rolling origin: fit on the first ``j``
    points, predict point ``j``, over the last two points), on the original scale.  With fewer than
    3 points the first candidate.  Returns the link and every candidate's error."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(v, dtype=float)
    if t.size < 3:
        return links[0], {}
    errors = {link.name: float(heldout_errors(link, t, v[None, :])[0]) for link in links}
    best = min(links, key=lambda lk: (errors[lk.name], links.index(lk)))
    return best, errors


def extrapolate_selected(links: Sequence[Link], t_fit: np.ndarray, v_fit: np.ndarray,
                         t_new: np.ndarray) -> np.ndarray:
    """Per row of ``v_fit``, the extrapolation of the link with the smallest held-out error on
    that row: model selection is redone on every bootstrap replicate, so its uncertainty is in
    the interval."""
    v_fit = np.atleast_2d(v_fit)
    preds = np.stack([extrapolate(lk, t_fit, v_fit, t_new) for lk in links])           # (n_links, B, new)
    if len(links) == 1 or t_fit.size < 3:
        return preds[0]
    errs = np.stack([heldout_errors(lk, t_fit, v_fit) for lk in links])              # (n_links, B)
    best = np.argmin(errs, axis=0)
    return preds[best, np.arange(v_fit.shape[0])]
