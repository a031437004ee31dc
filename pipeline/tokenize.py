"""Stage `tokenize`: fit the vocabulary on the training texts, turn every review into word indices.

Exactly Keras' legacy `Tokenizer(num_words)`: lower-case, its punctuation filters, split on
" ", index 1 = the most frequent word, ties in order of first appearance, words at index >=
num_words dropped. Counting with a C-level Counter makes it several times faster.
"""

import json
import logging
from collections import Counter
from collections.abc import Iterable
from operator import itemgetter

import numpy as np
import pyarrow.parquet as pq

from pipeline import params, paths
from pipeline.errors import PipelineError, run
from pipeline.files import require, save_npz, write_json

log = logging.getLogger("tokenize")

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # keras Tokenizer's default filters
_TO_SPACE = str.maketrans(FILTERS, " " * len(FILTERS))


def text_to_words(text: str) -> list[str]:
    """keras.preprocessing.text.text_to_word_sequence with its defaults."""
    return [word for word in text.lower().translate(_TO_SPACE).split(" ") if word]


def fit_vocabulary(texts: Iterable[str], num_words: int) -> list[str]:
    """The num_words - 1 most frequent words; word i (from 0) gets index i + 1."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(text_to_words(text))
    # sorted() is stable, so ties keep first-appearance order, as in Keras.
    ranked = sorted(counts.items(), key=itemgetter(1), reverse=True)
    return [word for word, _ in ranked[: num_words - 1]]


def texts_to_sequences(texts: Iterable[str], vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All reviews' indices concatenated, and offsets: review i is tokens[offsets[i]:offsets[i+1]]."""
    lookup = {word: index for index, word in enumerate(vocab, start=1)}.get
    tokens: list[int] = []
    offsets = [0]
    for text in texts:
        tokens.extend(index for index in map(lookup, text_to_words(text)) if index is not None)
        offsets.append(len(tokens))
    return np.asarray(tokens, dtype=np.int32), np.asarray(offsets, dtype=np.int64)


def load_vocabulary() -> list[str]:
    return json.loads(require(paths.VOCAB).read_text(encoding="utf-8"))["words"]


def main() -> None:
    num_words = params.load()["tokenize"]["num_words"]
    tables = {
        split: pq.read_table(require(paths.split_file(paths.PREPARED, split, ".parquet")))
        for split in paths.SPLITS
    }
    vocab = fit_vocabulary(tables["train"].column("text").to_pylist(), num_words)
    if not vocab:
        raise PipelineError("the training texts contain no words: nothing to fit a vocabulary on")
    write_json(paths.VOCAB, {"num_words": num_words, "words": vocab})
    for split, table in tables.items():
        tokens, offsets = texts_to_sequences(table.column("text").to_pylist(), vocab)
        save_npz(
            paths.split_file(paths.TOKENIZED, split, ".npz"),
            tokens=tokens,
            offsets=offsets,
            y=table.column("label").to_numpy(),
            id=table.column("id").to_numpy(),
            stars=table.column("stars").to_numpy(),
        )
        log.info("%s: %d reviews, %d tokens kept", split, len(offsets) - 1, len(tokens))


if __name__ == "__main__":
    run(main)
