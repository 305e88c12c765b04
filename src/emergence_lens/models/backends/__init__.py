"""Model back-ends behind one interface (:class:`Backend`)."""

from emergence_lens.models.backends.base import Backend, BackendError, cut_at_stop

__all__ = ["Backend", "BackendError", "cut_at_stop", "make_backend"]


def make_backend(kind: str, model: str, **kwargs) -> Backend:
    """``kind``: ``"hf"``, ``"openai"`` or ``"vllm"``."""
    if kind == "hf":
        from emergence_lens.models.backends.hf import HFBackend

        return HFBackend(model, **kwargs)
    if kind == "openai":
        from emergence_lens.models.backends.openai_api import OpenAIBackend

        return OpenAIBackend(model, **kwargs)
    if kind == "vllm":
        from emergence_lens.models.backends.vllm_backend import VLLMBackend

        return VLLMBackend(model, **kwargs)
    raise ValueError(f"unknown backend {kind!r}; use hf, openai or vllm")
