"""Model back-ends behind one interface (:class:`Backend`), registered by name in :data:`BACKENDS`
(each a ``"module:Class"`` imported when first used, so an extra is needed only for the back-end run)."""

from __future__ import annotations

import importlib

from emergence_lens.models.backends.base import Backend, BackendError, cut_at_stop
from emergence_lens.registry import Registry

__all__ = ["Backend", "BackendError", "cut_at_stop", "make_backend", "BACKENDS"]

#: Back-end name -> the class that implements it (``module:Class``).
BACKENDS: Registry[str] = Registry("backend")
BACKENDS.register("hf", "emergence_lens.models.backends.hf:HFBackend")
BACKENDS.register("openai", "emergence_lens.models.backends.openai_api:OpenAIBackend")
BACKENDS.register("vllm", "emergence_lens.models.backends.vllm_backend:VLLMBackend")


def make_backend(kind: str, model: str, **kwargs) -> Backend:
    """The back-end ``kind`` (a name in :data:`BACKENDS`: ``"hf"``, ``"openai"``, ``"vllm"``) for ``model``."""
    if kind not in BACKENDS:
        raise ValueError(f"unknown backend {kind!r}; use {', '.join(BACKENDS)}")
    module, _, cls = BACKENDS[kind].partition(":")
    return getattr(importlib.import_module(module), cls)(model, **kwargs)
