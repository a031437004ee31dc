"""data/encoded/vocab.json, the tokenizer's words: encode writes it, train carries it into the exported
model, so that predict tokenizes with the words the model was trained on."""

import json

from pipeline.lib import paths
from pipeline.lib.files import damaged, require, write_json


def save(num_words: int, words: list[str]) -> None:
    write_json(paths.VOCAB, {"num_words": num_words, "words": words})


def load() -> list[str]:
    try:
        return json.loads(require(paths.VOCAB).read_text(encoding="utf-8"))["words"]
    except (ValueError, KeyError, TypeError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise damaged(paths.VOCAB, error) from None
