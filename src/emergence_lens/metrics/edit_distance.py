"""Token edit distance: the paper's linear partner of exact match (Schaeffer et al. 2023, Fig. 2D, 3).

For a target of ``L`` tokens each wrong with probability ``1 - p``, the expected number of
substitutions is ``L * (1 - p)``: linear in the per-token error, so it improves smoothly.

Levenshtein distance is computed by rapidfuzz on token sequences.  Tokens are mapped to single
code points (one per distinct token in the batch) so that rapidfuzz's vectorised string kernel
(``rapidfuzz.process.cpdist``) runs on any tokenisation.  On large inputs with several workers the
Python-side pass (validation, stripping, encoding) of one chunk overlaps rapidfuzz's GIL-free kernel
on the previous one (``benchmarks/bench_edit_distance.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any, Literal

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

from emergence_lens.metrics._validation import as_text_list, check_same_length

__all__ = ["token_edit_distance", "tokenize", "Tokenizer", "levenshtein_reference"]

Tokenizer = Literal["characters", "whitespace"] | Callable[[str], Any]

_SURROGATE_START = 0xD800
_SURROGATE_SIZE = 0x800

#: Pairs per chunk when :func:`token_edit_distance` pipelines a large input over several workers.
PIPELINE_CHUNK = 1 << 17


def _code_point(index: int) -> str:
    """Map a token index to a code point, skipping the UTF-16 surrogate block."""
    return chr(index if index < _SURROGATE_START else index + _SURROGATE_SIZE)


def tokenize(texts: Sequence[str], tokenizer: Tokenizer) -> list[list[Any]]:
    """Split each text into tokens.

    Args:
        texts: strings.
        tokenizer: ``"characters"`` (each Unicode character), ``"whitespace"`` (``str.split``), or a
            callable ``f(text)`` returning a sequence of hashable tokens, or a mapping with
            ``"input_ids"`` (what a Hugging Face tokenizer returns when called).
    """
    if tokenizer == "characters":
        return [list(t) for t in texts]
    if tokenizer == "whitespace":
        return [t.split() for t in texts]
    if not callable(tokenizer):
        raise ValueError(f"tokenizer must be 'characters', 'whitespace' or a callable, got {tokenizer!r}")
    cache: dict[str, list[Any]] = {}
    out = []
    for t in texts:
        if t not in cache:
            toks = tokenizer(t)
            if isinstance(toks, Mapping) or hasattr(toks, "input_ids"):
                toks = toks["input_ids"]
            cache[t] = list(toks)
        out.append(cache[t])
    return out


def _encode(token_lists: list[list[Any]], vocab: dict[Any, str]) -> list[str]:
    out = []
    for toks in token_lists:
        chars = []
        for tok in toks:
            c = vocab.get(tok)
            if c is None:
                c = vocab[tok] = _code_point(len(vocab))
            chars.append(c)
        out.append("".join(chars))
    return out


def _texts(y_true: Sequence[str], y_pred: Sequence[str], strip: bool) -> tuple[list[str], list[str]]:
    """Both sides as lists of ``str``, stripped if asked.  ``str.strip`` applied as the unbound method
    is itself the type check (it refuses anything that is not a ``str``), so the common case costs one
    pass per side; on failure the validator names the first bad index."""
    if strip and not isinstance(y_true, str) and not isinstance(y_pred, str):
        try:
            return list(map(str.strip, y_true)), list(map(str.strip, y_pred))
        except TypeError:
            pass  # fall through: as_text_list raises with the index and the reason
    t, p = as_text_list(y_true, "y_true"), as_text_list(y_pred, "y_pred")
    return (list(map(str.strip, t)), list(map(str.strip, p))) if strip else (t, p)


def token_edit_distance(y_true: Sequence[str], y_pred: Sequence[str], *,
                        tokenizer: Tokenizer = "characters", strip: bool = True,
                        normalize: bool = False, workers: int = 1) -> np.ndarray:
    """Per-example Levenshtein distance between target and prediction, counted in tokens.

    ``d_i = min #(insertions + deletions + substitutions)`` turning ``tok(y_true_i)`` into
    ``tok(y_pred_i)``; with ``normalize``, ``d_i / max(len(tok(y_true_i)), 1)``.

    Lower is better.  It is a metric on token sequences: ``d(a, a) = 0``, symmetric, and obeys the
    triangle inequality.

    Args:
        y_true: reference strings.
        y_pred: model outputs ("" is valid: distance = target length).
        tokenizer: ``"characters"``, ``"whitespace"`` or a callable (e.g. a Hugging Face tokenizer).
        strip: strip surrounding whitespace first.
        normalize: divide by the target's token count.
        workers: threads for rapidfuzz (``-1``: all cores).

    Returns:
        float array, one distance per example.
    """
    if tokenizer not in ("characters", "whitespace") and not callable(tokenizer):
        raise ValueError(f"tokenizer must be 'characters', 'whitespace' or a callable, got {tokenizer!r}")
    if workers == 1 or isinstance(y_true, str) or isinstance(y_pred, str) or len(y_true) < 2 * PIPELINE_CHUNK:
        return _distances(*_texts(y_true, y_pred, strip), tokenizer, {}, normalize, workers)
    t = y_true if type(y_true) is list else as_text_list(y_true, "y_true")
    p = y_pred if type(y_pred) is list else as_text_list(y_pred, "y_pred")
    n = check_same_length(y_true=t, y_pred=p)
    vocab: dict[Any, str] = {}
    parts = []
    # Pipelined: rapidfuzz computes chunk k on its worker threads (without the GIL) while this thread
    # validates, strips and encodes chunk k+1, so the Python-side pass hides behind the kernel.
    rest_t, rest_p = iter(t), iter(p)
    with ThreadPoolExecutor(1) as pool:
        pending = None
        for _ in range(0, n, PIPELINE_CHUNK):
            try:
                a, b = _next_chunk(rest_t, strip), _next_chunk(rest_p, strip)
            except TypeError:
                _texts(t, p, strip)  # raises, naming the index in the whole input
                raise
            if tokenizer != "characters":
                a, b = _encode(tokenize(a, tokenizer), vocab), _encode(tokenize(b, tokenizer), vocab)
            if pending is not None:
                parts.append(pending.result())
            pending = pool.submit(_distances, a, b, "characters", vocab, normalize, workers)
        parts.append(pending.result())
    return np.concatenate(parts)


def _next_chunk(rest: Iterator[Any], strip: bool) -> list[str]:
    """The next :data:`PIPELINE_CHUNK` items of ``rest`` as a list of ``str``, stripped if asked; a
    non-``str`` item raises ``TypeError`` (the unbound ``str.strip``, or else ``"".join``, is the check)."""
    if strip:
        return list(map(str.strip, islice(rest, PIPELINE_CHUNK)))
    out = list(islice(rest, PIPELINE_CHUNK))
    "".join(out)  # the cheapest type check there is: refuses any non-str item (measured, benchmarks.md)
    return out


def _distances(t: list[str], p: list[str], tokenizer: Tokenizer, vocab: dict[Any, str], normalize: bool,
               workers: int) -> np.ndarray:
    """Distances for text lists already validated (and stripped)."""
    n = check_same_length(y_true=t, y_pred=p)
    if n == 0:
        return np.empty(0)
    if tokenizer == "characters":
        a, b = t, p
    else:
        a, b = _encode(tokenize(t, tokenizer), vocab), _encode(tokenize(p, tokenizer), vocab)
    dist = cpdist(a, b, scorer=Levenshtein.distance, workers=workers, dtype=np.float64)
    if normalize:
        # a's strings hold one code point per token, so len() counts tokens
        dist /= np.maximum(np.fromiter(map(len, a), dtype=np.int64, count=n), 1)
    return dist


def levenshtein_reference(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Textbook O(len(a) * len(b)) dynamic program in pure Python.

    The reference that :func:`token_edit_distance` is tested against and benchmarked
    against (``benchmarks/bench_edit_distance.py``); far too slow for real use.
    """
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]
