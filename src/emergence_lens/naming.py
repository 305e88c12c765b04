"""Names from data in file names and markdown: one slug, one code span.

A family, task or metric name comes from the user's files and can be anything: 300 characters, a
slash, a newline, a markdown link.  File names are built with :func:`slug` (bounded, safe characters,
and never the same for two different names); markdown shows names with :func:`code_span` (literal,
one line).  CSV cells keep names exactly as given: a data tool does not rewrite data.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["slug", "code_span", "SLUG_LIMIT"]

#: The longest slug (a file name part; whole file names stay far below the usual 255-byte limit).
SLUG_LIMIT = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def slug(text: str, limit: int = SLUG_LIMIT) -> str:
    """A file-name part for ``text``: letters, digits, ``. _ = -`` only, at most ``limit`` characters.

    A name that is already such a part is kept as it is (``ladder`` -> ``ladder``); any other gets a
    short hash of the whole name, so two names never share a slug (``a/b`` -> ``a_b-6f1ed002``
    beside ``a_b`` -> ``a_b``), and a long name is cut before its hash.
    """
    text = str(text)
    safe = _UNSAFE.sub("_", text).strip("._-=")
    if safe == text and 0 < len(safe) <= limit:
        return safe
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[:max(1, limit - 9)] or 'x'}-{digest}"


def code_span(text: object) -> str:
    """``text`` as a one-line markdown code span: shown literally (no heading, link or emphasis
    can start inside it), newlines as spaces, and a pipe escaped for the pipe tables it sits in."""
    s = re.sub(r"[\r\n\t\v\f\u2028\u2029]+", " ", str(text)).replace("|", "\\|")
    if not s:
        return ""
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (run + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or run else ""
    return f"{fence}{pad}{s}{pad}{fence}"
