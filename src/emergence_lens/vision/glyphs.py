"""An Omniglot stand-in: handwriting-like character images rendered from the Hershey vector fonts.

Omniglot (Lake et al. 2015) has 1,623 characters from 50 alphabets, each drawn by 20 people.
Offline we have no Omniglot, but the ``Hershey-Fonts`` package ships stroke fonts for several
"alphabets" (Greek, Cyrillic, Japanese kana, astrological and meteorological signs, ...).  Every
class here is one glyph of one such alphabet; every sample redraws it with

* a random affine map (rotation, anisotropic scale, shear, translation), like a new drawer;
* stroke noise: each stroke is shifted on its own, and every point along it jitters;
* a random pen width (Gaussian blur of the rasterised stroke points),

then rasterises it at 28 x 28 (the size the paper's Omniglot experiment used), strokes bright on
black, values in [0, 1].  Rendering is vectorised over samples and fully determined by the seed.
Outputs that use these images say they are a stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emergence_lens.vision.data import DatasetError, ImageDataset

__all__ = ["GlyphSet", "ALPHABETS", "glyph_set", "render_glyphs", "load_glyphs_standin"]

#: Hershey fonts used as alphabets, and the keys whose glyphs become classes.
ALPHABETS: tuple[str, ...] = ("greek", "cyrillic", "japanese", "astrology", "meteorology")
_KEYS = "abcdefghijklmnopqrst"
SIZE = 28


@dataclass(frozen=True)
class GlyphSet:
    """Stroke points of every class, normalised to the unit box centred on 0.

    Attributes:
        names: ``"alphabet/key"`` per class.
        points: ``(P, 2)`` points sampled densely along every stroke of every class.
        stroke: ``(P,)`` global stroke index of each point.
        owner: ``(n_strokes,)`` class of each stroke.
        start: ``(n_classes + 1,)`` offsets of each class's points in ``points``.
    """

    names: tuple[str, ...]
    points: np.ndarray
    stroke: np.ndarray
    owner: np.ndarray
    start: np.ndarray

    def __len__(self) -> int:
        return len(self.names)


def glyph_set(alphabets: tuple[str, ...] = ALPHABETS, keys: str = _KEYS, *, spacing: float = 0.02) -> GlyphSet:
    """Load glyph strokes from the Hershey fonts; duplicate shapes (same strokes) are kept once."""
    try:
        from HersheyFonts import HersheyFonts
    except ImportError as exc:
        raise DatasetError("the glyph stand-in needs the Hershey-Fonts package: pip install Hershey-Fonts") from exc
    names, pts, strokes, owners, starts, seen = [], [], [], [], [0], set()
    n_strokes = 0
    for alphabet in alphabets:
        font = HersheyFonts()
        try:
            font.load_default_font(alphabet)
        except Exception as exc:  # the package raises bare exceptions for unknown fonts
            raise DatasetError(f"Hershey font {alphabet!r} is not available: {exc}") from exc
        for key in keys:
            lines = [np.asarray(s, dtype=float) for s in font.strokes_for_text(key)]
            lines = [s for s in lines if len(s) >= 2]
            if not lines:
                continue
            signature = tuple(tuple(map(tuple, s)) for s in lines)
            if signature in seen:
                continue
            seen.add(signature)
            allp = np.concatenate(lines)
            lo, hi = allp.min(0), allp.max(0)
            centre, extent = (lo + hi) / 2, max(float((hi - lo).max()), 1e-9)
            cls = len(names)
            names.append(f"{alphabet}/{key}")
            for s in lines:
                s = (s - centre) / extent
                s[:, 1] = -s[:, 1]  # font y grows upwards
                seg = np.diff(s, axis=0)
                n = np.maximum(np.ceil(np.linalg.norm(seg, axis=1) / spacing).astype(int), 1)
                t = np.concatenate([np.arange(k) / k for k in n])
                base = np.repeat(s[:-1], n, axis=0) + np.repeat(seg, n, axis=0) * t[:, None]
                sampled = np.vstack([base, s[-1:]])
                pts.append(sampled)
                strokes.append(np.full(len(sampled), n_strokes))
                owners.append(cls)
                n_strokes += 1
            starts.append(sum(len(p) for p in pts))
    return GlyphSet(tuple(names), np.concatenate(pts), np.concatenate(strokes), np.asarray(owners),
                    np.asarray(starts))


def render_glyphs(glyphs: GlyphSet, classes: np.ndarray, rng: np.random.Generator, *,
                  size: int = SIZE, jitter: float = 1.0) -> np.ndarray:
    """Draw one randomly distorted sample of each class in ``classes``.

    Args:
        glyphs: from :func:`glyph_set`.
        classes: ``(n,)`` class indices.
        rng: the only source of randomness.
        size: output side in pixels.
        jitter: scales every distortion (0 = the clean glyph, centred).

    Returns:
        ``(n, size, size)`` float32 in [0, 1].
    """
    from scipy.ndimage import gaussian_filter

    classes = np.asarray(classes, dtype=np.int64)
    n = len(classes)
    out = np.zeros((n, size, size), dtype=np.float32)
    if n == 0:
        return out
    # per-sample affine: rotation, scale, shear, translation (in pixels)
    rot = rng.normal(0, 0.15, n) * jitter
    scale = 0.62 * size * np.exp(rng.normal(0, 0.08, (n, 2)) * jitter)
    shear = rng.normal(0, 0.15, n) * jitter
    shift = size / 2 - 0.5 + rng.normal(0, 1.2, (n, 2)) * jitter
    cos, sin = np.cos(rot), np.sin(rot)
    A = np.empty((n, 2, 2))
    A[:, 0, 0], A[:, 0, 1] = cos * scale[:, 0], (cos * shear - sin) * scale[:, 1]
    A[:, 1, 0], A[:, 1, 1] = sin * scale[:, 0], (sin * shear + cos) * scale[:, 1]
    counts = np.diff(glyphs.start)[classes]
    sample = np.repeat(np.arange(n), counts)
    offsets = np.cumsum(counts) - counts
    idx = np.arange(counts.sum()) - np.repeat(offsets - glyphs.start[classes], counts)
    p = glyphs.points[idx]
    xy = np.einsum("nij,nj->ni", A[sample], p) + shift[sample]
    # stroke noise: a shift per (sample, stroke) and a small jitter per point
    key = sample * (glyphs.stroke.max() + 1) + glyphs.stroke[idx]
    _, inv = np.unique(key, return_inverse=True)
    xy += rng.normal(0, 0.6 * jitter, (inv.max() + 1, 2))[inv] + rng.normal(0, 0.25 * jitter, xy.shape)
    # bilinear splat of the points (x = column, y = row)
    x0, y0 = np.floor(xy[:, 0]).astype(int), np.floor(xy[:, 1]).astype(int)
    fx, fy = xy[:, 0] - x0, xy[:, 1] - y0
    flat = out.reshape(-1)
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        cx, cy = x0 + dx, y0 + dy
        ok = (cx >= 0) & (cx < size) & (cy >= 0) & (cy < size)
        flat += np.bincount((sample[ok] * size + cy[ok]) * size + cx[ok], weights=w[ok],
                            minlength=flat.size).astype(np.float32)
    # pen width: blur each sample with its own sigma (a few sigma levels keep this vectorised)
    sigma = np.clip(rng.normal(0.9, 0.2 * jitter, n), 0.5, 1.4)
    levels = np.round(sigma * 5) / 5
    for s in np.unique(levels):
        sel = levels == s
        out[sel] = gaussian_filter(out[sel], sigma=(0, s, s), mode="constant")
    out /= np.maximum(out.reshape(n, -1).max(1), 1e-6)[:, None, None] * 0.6
    return np.clip(out, 0.0, 1.0)


def load_glyphs_standin(n_per_class: int, *, seed: int = 0, glyphs: GlyphSet | None = None) -> ImageDataset:
    """``n_per_class`` rendered samples of every glyph class, in random order (seeded)."""
    glyphs = glyphs or glyph_set()
    rng = np.random.default_rng([seed, 7])
    labels = rng.permutation(np.repeat(np.arange(len(glyphs)), n_per_class))
    images = render_glyphs(glyphs, labels, rng)
    return ImageDataset(images, labels, "hershey-glyphs",
                        f"Hershey-Fonts ({', '.join(ALPHABETS)}), rendered with affine jitter and stroke noise",
                        stand_in=True)
