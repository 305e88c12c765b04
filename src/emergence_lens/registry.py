"""One registry type for everything named: metrics, forecast methods, experiments, model back-ends and
input formats (as lm-eval's generic ``Registry`` does).  A :class:`Registry` is a ``dict`` from name
to entry with :meth:`Registry.register` (a name once, unless replaced on purpose) and
:meth:`Registry.lookup` (an unknown name is a one-line error that lists the known ones)."""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """Entries of one ``kind`` by name, in registration order.

    Args:
        kind: what an entry is, for messages ("metric", "forecast method", ...).
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, name: str, entry: T, *, overwrite: bool = False) -> T:
        """Add ``entry`` under ``name``; a name already taken by another entry is an error unless
        ``overwrite``.  Returns the entry (so it works as a decorator's last step)."""
        if name in self and self[name] is not entry and not overwrite:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self[name] = entry
        return entry

    def lookup(self, name: str) -> T:
        """The entry named ``name``; ``KeyError`` naming the known entries otherwise."""
        try:
            return self[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; registered: {', '.join(sorted(self))}") from None

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self)})"
