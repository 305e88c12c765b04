"""The report's per-curve panels: a sharp metric beside its smooth partners against scale, as inline
SVG (cf. Schaeffer et al. 2023, Figs. 3-4 and 7-9).

Each panel is a few kilobytes of vector text written directly: observed values with their 95% CIs
(black), the band predicted from the smooth ingredient (blue), open red circles where 0 was observed
and red triangles at the resolution limit (the largest value a 0 out of n is consistent with).  A
report has one panel per curve, so a panel costs well under a millisecond instead of the ~100 ms of
a matplotlib figure encoded as PNG: a leaderboard of thousands of curves gets its report in
seconds.  Every name drawn is XML-escaped; the same inputs give the same bytes in any process.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Panel", "panel_svg", "nice_ticks", "decade_label"]

#: One subplot's size and margins, in CSS pixels.
WIDTH, HEIGHT = 270, 200
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 22, 36
LEGEND = 16  # the legend row under the subplots, when there is one

BLUE, RED, INK, GRID = "#1f77b4", "#d62728", "#111", "#e6e6e6"

_LEGEND_TEXT = {"band": "predicted from ingredient (joint band)", "zero": "0 observed",
                "limit": "resolution limit"}


@dataclass
class Panel:
    """What one panel draws: ``curves`` (metric name, its points: ``scale_params``, ``scale_flops``,
    ``pretrain_loss``, ``value``, ``ci_low``, ``ci_high``, ``higher_is_better``, ``cp_high``,
    ``resolution_limit``), the first curve's predicted ``band`` (``scale``, ``predicted``,
    ``predicted_low``, ``predicted_high``) and the x axis (``params``, ``flops`` or ``loss``)."""

    curves: list[tuple[str, pd.DataFrame]]
    band: pd.DataFrame | None
    axis: str


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _f(v: float) -> str:
    """A coordinate: one decimal, no ``-0.0``."""
    text = f"{v:.1f}"
    return "0.0" if text == "-0.0" else text


def decade_label(value: float) -> str:
    """``1e8`` for 10**8 (``1e-3`` for 10**-3)."""
    return f"{value:.0e}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-") if value > 0 else ""


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """About ``target`` round tick values (1, 2, 2.5 or 5 times a power of ten) within ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(1, target)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [0.0 if i == 0 else i * step for i in range(first, last + 1)]


def _labelled(ticks: Sequence[float]) -> list[tuple[float, str]]:
    """Each tick with its label, to as many decimals as the ticks' step needs."""
    return [(v, _tick_text(v, ticks)) for v in ticks]


def _tick_text(v: float, ticks: Sequence[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(v) or 1.0
    digits = max(0, -math.floor(math.log10(step)) + (1 if step / 10 ** math.floor(math.log10(step)) == 2.5 else 0))
    if abs(v) >= 1e5 or (v != 0 and abs(v) < 1e-3):
        return f"{v:.2g}"
    return f"{v:.{min(digits, 6)}f}"


def _x_of(points: pd.DataFrame, axis: str) -> tuple[np.ndarray, str, bool]:
    """x values, label and whether the axis is linear and decreasing (loss) rather than log."""
    if axis == "flops" and points["scale_flops"].notna().all():
        return points["scale_flops"].to_numpy(float), "training FLOPs (log scale)", False
    if axis == "loss" and points["pretrain_loss"].notna().all():
        return points["pretrain_loss"].to_numpy(float), "pretraining loss (decreasing)", True
    return points["scale_params"].to_numpy(float), "parameters (log scale)", False


class _Axes:
    """Maps data to one subplot's pixels: x log10 (or linear, decreasing for loss), y linear."""

    def __init__(self, x0: float, xs: np.ndarray, ys: np.ndarray, linear_x: bool) -> None:
        self.x0, self.linear_x = x0, linear_x
        tx = xs if linear_x else np.log10(xs)
        self.xlo, self.xhi = self._padded(float(tx.min()), float(tx.max()))
        self.ylo, self.yhi = self._padded(float(ys.min()), float(ys.max()))

    @staticmethod
    def _padded(lo: float, hi: float) -> tuple[float, float]:
        if hi - lo <= 1e-12 * max(1.0, abs(lo)):
            half = max(abs(lo) * 0.05, 0.05)
            return lo - half, hi + half
        pad = (hi - lo) * 0.05
        return lo - pad, hi + pad

    def px(self, x: np.ndarray) -> np.ndarray:
        t = x if self.linear_x else np.log10(x)
        frac = (t - self.xlo) / (self.xhi - self.xlo)
        if self.linear_x:  # loss: decreasing to the right
            frac = 1 - frac
        return self.x0 + LEFT + frac * (WIDTH - LEFT - RIGHT)

    def py(self, y: np.ndarray) -> np.ndarray:
        frac = (y - self.ylo) / (self.yhi - self.ylo)
        return TOP + (1 - frac) * (HEIGHT - TOP - BOTTOM)


def _subplot(x0: float, title: str, pts: pd.DataFrame, axis: str, band: pd.DataFrame | None,
             used: set[str]) -> list[str]:
    """The SVG elements of one subplot at horizontal offset ``x0``; adds what its legend needs to ``used``."""
    pts = pts.sort_values("scale_params")
    x, label, linear = _x_of(pts, axis)
    y = pts["value"].to_numpy(float)
    lo = pts["ci_low"].to_numpy(float)
    hi = pts["ci_high"].to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y) & ((x > 0) | linear)
    out = [f'<text x="{_f(x0 + WIDTH / 2)}" y="13" text-anchor="middle" font-size="10" '
           f'font-weight="600">{_esc(title)}</text>']
    if not ok.any():
        out.append(f'<text x="{_f(x0 + WIDTH / 2)}" y="{HEIGHT / 2:.1f}" text-anchor="middle" '
                   f'font-size="10">no scale</text>')
        return out
    zero = ok & (y == 0) & (pts["higher_is_better"].astype(str) != "False").to_numpy()
    limit = pts["cp_high"].to_numpy(float)
    limit = np.where(np.isfinite(limit), limit, pts["resolution_limit"].to_numpy(float))
    has_limit = zero & np.isfinite(limit)
    b = None
    if band is not None and len(band):
        b = band.sort_values("scale")
        bx = b["scale"].to_numpy(float)
        keep = np.isfinite(bx) & ((bx > 0) | linear)
        b = b[keep] if keep.any() else None
    xs = [x[ok]]
    ys = [y[ok], lo[ok & np.isfinite(lo)], hi[ok & np.isfinite(hi)], limit[has_limit]]
    if b is not None:
        xs.append(b["scale"].to_numpy(float))
        for col in ("predicted", "predicted_low", "predicted_high"):
            v = b[col].to_numpy(float)
            ys.append(v[np.isfinite(v)])
    ax = _Axes(x0, np.concatenate(xs), np.concatenate(ys), linear)
    left, right = x0 + LEFT, x0 + WIDTH - RIGHT
    top, bottom = TOP, HEIGHT - BOTTOM
    # frame, grid and ticks
    for t, text in _labelled(nice_ticks(ax.ylo, ax.yhi)):
        p = float(ax.py(np.array([t]))[0])
        out.append(f'<line x1="{_f(left)}" x2="{_f(right)}" y1="{_f(p)}" y2="{_f(p)}" stroke="{GRID}"/>')
        out.append(f'<text x="{_f(left - 4)}" y="{_f(p + 3)}" text-anchor="end" font-size="8">{text}</text>')
    if linear:
        xticks = _labelled(nice_ticks(ax.xlo, ax.xhi, 4))
    else:
        decades = range(math.ceil(ax.xlo - 1e-9), math.floor(ax.xhi + 1e-9) + 1)
        xticks = [(10.0 ** d, decade_label(10.0 ** d)) for d in decades]
        if len(decades) > 8:  # at most about 8 labelled decades
            every = math.ceil(len(decades) / 8)
            xticks = xticks[::every]
    for t, text in xticks:
        p = float(ax.px(np.array([t]))[0])
        out.append(f'<line x1="{_f(p)}" x2="{_f(p)}" y1="{_f(bottom)}" y2="{_f(bottom + 3)}" stroke="{INK}"/>')
        out.append(f'<text x="{_f(p)}" y="{_f(bottom + 12)}" text-anchor="middle" font-size="8">{_esc(text)}</text>')
    out.append(f'<rect x="{_f(left)}" y="{_f(top)}" width="{_f(right - left)}" height="{_f(bottom - top)}" '
               f'fill="none" stroke="#888"/>')
    out.append(f'<text x="{_f((left + right) / 2)}" y="{_f(HEIGHT - 6)}" text-anchor="middle" '
               f'font-size="9">{_esc(label)}</text>')
    # the band predicted from the ingredient
    if b is not None:
        bx = ax.px(b["scale"].to_numpy(float))
        low, high, mid = (b[c].to_numpy(float) for c in ("predicted_low", "predicted_high", "predicted"))
        fin = np.isfinite(low) & np.isfinite(high)
        if fin.any():
            upper = " ".join(f"{_f(px)},{_f(py)}" for px, py in zip(bx[fin], ax.py(high[fin]), strict=True))
            lower = " ".join(f"{_f(px)},{_f(py)}" for px, py in zip(bx[fin][::-1], ax.py(low[fin])[::-1], strict=True))
            out.append(f'<polygon points="{upper} {lower}" fill="{BLUE}" fill-opacity="0.18"/>')
            used.add("band")
        fm = np.isfinite(mid)
        if fm.sum() > 1:
            line = " ".join(f"{_f(px)},{_f(py)}" for px, py in zip(bx[fm], ax.py(mid[fm]), strict=True))
            out.append(f'<polyline points="{line}" fill="none" stroke="{BLUE}" stroke-width="1"/>')
    # observed values: the line, CIs with caps, points
    px, py = ax.px(x[ok]), ax.py(y[ok])
    if ok.sum() > 1:
        out.append(f'<polyline points="{" ".join(f"{_f(a)},{_f(c)}" for a, c in zip(px, py, strict=True))}" '
                   f'fill="none" stroke="{INK}" stroke-width="1"/>')
    bars = []
    for a, lo_i, hi_i in zip(px, np.where(np.isfinite(lo), lo, y)[ok], np.where(np.isfinite(hi), hi, y)[ok],
                             strict=True):
        y1, y2 = float(ax.py(np.array([min(lo_i, hi_i)]))[0]), float(ax.py(np.array([max(lo_i, hi_i)]))[0])
        if y1 - y2 < 0.5:
            continue
        bars.append(f"M{_f(a)} {_f(y1)}V{_f(y2)}M{_f(a - 2)} {_f(y1)}H{_f(a + 2)}M{_f(a - 2)} {_f(y2)}H{_f(a + 2)}")
    if bars:
        out.append(f'<path d="{"".join(bars)}" stroke="{INK}" stroke-width="0.8" fill="none"/>')
    zero_ok = zero[ok]
    for a, c, z in zip(px, py, zero_ok, strict=True):
        if z:
            out.append(f'<circle cx="{_f(a)}" cy="{_f(c)}" r="3" fill="#fff" stroke="{RED}"/>')
        else:
            out.append(f'<circle cx="{_f(a)}" cy="{_f(c)}" r="2.2" fill="{INK}"/>')
    if zero.any():
        used.add("zero")
    if has_limit.any():
        used.add("limit")
        for a, c in zip(ax.px(x[has_limit]), ax.py(limit[has_limit]), strict=True):
            out.append(f'<path d="M{_f(a - 3)} {_f(c - 2)}H{_f(a + 3)}L{_f(a)} {_f(c + 3)}Z" fill="{RED}"/>')
    return out


def panel_svg(panel: Panel, label: str = "") -> str:
    """One panel as an inline ``<svg>``: a subplot per curve side by side (the first with the band),
    a legend row for what is drawn.  ``label``: the accessible name (escaped here)."""
    used: set[str] = set()
    parts: list[str] = []
    n = len(panel.curves)
    for i, (metric, pts) in enumerate(panel.curves):
        title = f"{metric} (sharp metric)" if i == 0 and n > 1 else metric
        parts += _subplot(i * WIDTH, title, pts, panel.axis, panel.band if i == 0 else None, used)
    height = HEIGHT
    if used:
        x = 8.0
        for key in ("band", "zero", "limit"):
            if key not in used:
                continue
            y = HEIGHT + 8
            if key == "band":
                parts.append(f'<rect x="{_f(x)}" y="{_f(y - 4)}" width="14" height="8" fill="{BLUE}" '
                             f'fill-opacity="0.3"/>')
            elif key == "zero":
                parts.append(f'<circle cx="{_f(x + 7)}" cy="{_f(y)}" r="3" fill="#fff" stroke="{RED}"/>')
            else:
                parts.append(f'<path d="M{_f(x + 4)} {_f(y - 2)}H{_f(x + 10)}L{_f(x + 7)} {_f(y + 3)}Z" fill="{RED}"/>')
            text = _LEGEND_TEXT[key]
            parts.append(f'<text x="{_f(x + 18)}" y="{_f(y + 3)}" font-size="9">{text}</text>')
            x += 18 + 5.2 * len(text) + 14
        height += LEGEND
    width = WIDTH * max(1, n)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(label)}" '
            f'font-family="system-ui,sans-serif" fill="{INK}">' + "".join(parts) + "</svg>")
