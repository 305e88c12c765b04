"""A character-level tokenizer in the Hugging Face format (``tokenizer.json``).

One token per character, so "token edit distance" is character edit distance and every digit
is its own token.  Saved with ``save_pretrained`` it loads offline through
``AutoTokenizer.from_pretrained(path)`` — what the transformers backend and
lm-evaluation-harness ``--model hf`` use.
"""

from __future__ import annotations

import string
from pathlib import Path

__all__ = ["CHARACTERS", "build_char_tokenizer", "SPECIAL_TOKENS"]

SPECIAL_TOKENS = ("<pad>", "<eos>", "<unk>")
#: Printable ASCII plus newline: enough for GPT-3 and BIG-bench arithmetic prompts.
CHARACTERS = "\n" + "".join(ch for ch in string.printable if ch not in "\t\r\x0b\x0c\n")


def build_char_tokenizer(characters: str = CHARACTERS):  # -> PreTrainedTokenizerFast
    """A ``PreTrainedTokenizerFast`` with one id per character (special tokens first)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for ch in characters:
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>",
                                   unk_token="<unk>", clean_up_tokenization_spaces=False)


def save_char_tokenizer(path: str | Path) -> None:
    build_char_tokenizer().save_pretrained(str(path))
