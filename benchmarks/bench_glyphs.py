"""Omniglot stand-in rendering: images per second of the vectorised renderer.

:func:`emergence_lens.vision.glyphs.render_glyphs` transforms every stroke point of every sample
at once and splats them with ``np.bincount``; the obvious alternative draws each transformed
stroke segment of each image with ``skimage.draw.line_aa`` and blurs image by image (timed on
fewer images, extrapolated).  Both use the same affine maps and noise model.

Run: python benchmarks/bench_glyphs.py [--images 20000] [--naive 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from emergence_lens.vision.glyphs import glyph_set, render_glyphs


def naive_render(glyphs, classes: np.ndarray, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """Per image, per stroke, per segment: anti-aliased lines, then a blur per image."""
    from scipy.ndimage import gaussian_filter
    from skimage.draw import line_aa

    out = np.zeros((len(classes), size, size), dtype=np.float32)
    for i, c in enumerate(classes):
        rot, shear = rng.normal(0, 0.15), rng.normal(0, 0.15)
        scale = 0.62 * size * np.exp(rng.normal(0, 0.08, 2))
        shift = size / 2 - 0.5 + rng.normal(0, 1.2, 2)
        A = np.array([[np.cos(rot) * scale[0], (np.cos(rot) * shear - np.sin(rot)) * scale[1]],
                      [np.sin(rot) * scale[0], (np.sin(rot) * shear + np.cos(rot)) * scale[1]]])
        lo, hi = glyphs.start[c], glyphs.start[c + 1]
        pts, strokes = glyphs.points[lo:hi], glyphs.stroke[lo:hi]
        for s in np.unique(strokes):
            xy = pts[strokes == s] @ A.T + shift + rng.normal(0, 0.6, 2)
            xy = xy + rng.normal(0, 0.25, xy.shape)
            for (x0, y0), (x1, y1) in zip(xy[:-1], xy[1:], strict=True):
                rr, cc, val = line_aa(int(round(y0)), int(round(x0)), int(round(y1)), int(round(x1)))
                ok = (rr >= 0) & (rr < size) & (cc >= 0) & (cc < size)
                out[i, rr[ok], cc[ok]] = np.maximum(out[i, rr[ok], cc[ok]], val[ok])
        out[i] = gaussian_filter(out[i], np.clip(rng.normal(0.9, 0.2), 0.5, 1.4))
        out[i] /= max(out[i].max(), 1e-6) * 0.6
    return np.clip(out, 0, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--naive", type=int, default=1_000)
    a = ap.parse_args()
    g = glyph_set()
    classes = np.random.default_rng(0).integers(0, len(g), a.images)
    t0 = time.perf_counter()
    render_glyphs(g, classes, np.random.default_rng(1))
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive_render(g, classes[:a.naive], np.random.default_rng(1))
    slow = (time.perf_counter() - t0) * a.images / a.naive
    print(f"render {a.images:,} glyph images (28x28, {len(g)} classes): {fast:.2f} s "
          f"({a.images / fast:,.0f} images/s)")
    print(f"per-segment skimage line_aa + per-image blur (extrapolated from {a.naive:,}): {slow:.2f} s "
          f"-> vectorised is {slow / fast:.1f}x faster")


if __name__ == "__main__":
    main()
