"""Optional extras: which heavy back-ends a feature needs, and one clear line when they are missing.

The core (``pip install emergence-lens``) audits, scores, predicts, reports and runs the closed-form and
simulated reproductions with numpy/scipy/pandas/pyarrow/rapidfuzz/matplotlib/typer/rich only.  Training,
the Hugging Face back-end and the vision networks live behind extras, like lm-evaluation-harness keeps
torch behind ``[hf]``::

    pip install 'emergence-lens[train]'    # arithmetic ladder, evaluate/serve with the hf back-end
    pip install 'emergence-lens[vision]'   # LeNet / autoencoder / transformer ladders
    pip install 'emergence-lens[all]'      # everything `reproduce` runs
    pip install 'emergence-lens[dask]'     # audit --engine dask
"""

from __future__ import annotations

import importlib

__all__ = ["EXTRAS", "ExtraMissing", "missing_modules", "require_extra", "install_hint"]

#: extra name -> the modules it provides (import names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch", "transformers", "tokenizers", "safetensors"),
    "vision": ("torch", "safetensors", "skimage", "sklearn", "mlxtend", "HersheyFonts"),
    "vllm": ("vllm",),
    "openai": ("openai",),
    "lm-eval": ("lm_eval",),
    "dask": ("dask", "distributed"),
}


class ExtraMissing(ImportError):
    """A command needs an optional extra that is not installed; the message is the one line to show."""

    def __init__(self, what: str, extra: str, missing: list[str]) -> None:
        self.what, self.extra, self.missing = what, extra, missing
        super().__init__(f"{what} needs the {extra} extra ({', '.join(missing)} not installed): "
                         f"{install_hint(extra)}")


def install_hint(extra: str) -> str:
    return f"pip install 'emergence-lens[{extra}]'"


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (importing them is the only real test)."""
    if extra not in EXTRAS:
        raise KeyError(f"unknown extra {extra!r}; known: {sorted(EXTRAS)}")
    missing = []
    for name in EXTRAS[extra]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - ImportError, or a broken install failing on import
            missing.append(name)
    return missing


def require_extra(extra: str, what: str) -> None:
    """Raise :class:`ExtraMissing` naming ``what`` (e.g. ``'reproduce arithmetic'``) unless ``extra``'s
    modules import."""
    missing = missing_modules(extra)
    if missing:
        raise ExtraMissing(what, extra, missing)
