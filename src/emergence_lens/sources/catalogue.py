"""A built-in catalogue of public model families: parameters and training tokens, with a source.

Names such as ``gpt2-xl``, ``t5-large`` or ``davinci`` carry no size.  The catalogue
(``sources/data/model_catalogue.csv``, shipped with the package) lists GPT-2, GPT-Neo/J/NeoX,
Pythia, OPT, BLOOM, T5/Flan-T5, LLaMA 1-3, Falcon, Mistral, Qwen, the GPT-3 paper and API models,
and the families of the emergence papers (LaMDA, Gopher, Chinchilla, PaLM), each row with the
paper or model card it comes from.  Where the training tokens ``D`` are known, the training
compute is ``C = 6 N D`` (Kaplan et al. 2020).

Lookup is by the model's basename, case-insensitive, as :mod:`.model_names` reads names
(revisions, cache paths, version/dtype/format tokens ignored; a variant or fine-tune takes its
base): ``EleutherAI/pythia-1.4b-deduped`` -> ``pythia-1.4b``; :func:`.model_names.lookup_model`
looks a name up.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["CatalogueEntry", "catalogue"]

@dataclass(frozen=True)
class CatalogueEntry:
    model: str
    family: str
    params: float
    train_tokens: float | None
    source: str

    @property
    def flops(self) -> float | None:
        """``6 N D`` when the training tokens are known."""
        return 6.0 * self.params * self.train_tokens if self.train_tokens else None


@lru_cache(maxsize=1)
def catalogue() -> dict[str, CatalogueEntry]:
    """Every catalogue row by lower-case model name."""
    text = resources.files("emergence_lens.sources").joinpath("data/model_catalogue.csv").read_text(encoding="utf-8")
    out = {}
    for row in csv.DictReader(io.StringIO(text)):
        tokens = float(row["train_tokens"]) if row["train_tokens"] else None
        out[row["model"].lower()] = CatalogueEntry(row["model"], row["family"], float(row["params"]), tokens,
                                                   row["source"])
    return out
