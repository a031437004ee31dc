"""Stage `tokenize`: fit the vocabulary on the training texts, turn every review into word indices.

Exactly Keras' legacy `Tokenizer(num_words)`: lower-case, its punctuation filters, split on
" ", index 1 = the most frequent word, ties in order of first appearance, words at index >=
num_words dropped. Splitting, counting and look-ups run in Arrow's C++ kernels over all
reviews at once, several times faster than the Tokenizer's loop over words.
"""

import json
import logging
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import params, paths
from pipeline.errors import PipelineError, run
from pipeline.files import require, save_npz, write_json

log = logging.getLogger("tokenize")

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # keras Tokenizer's default filters
# The filters are ASCII, and ASCII bytes never occur inside a multi-byte UTF-8 character, so
# translating the encoded bytes is the same as translating the text, and much faster.
_BYTES_TO_SPACE = bytes.maketrans(FILTERS.encode(), b" " * len(FILTERS))


def split_words(texts: Sequence[str]) -> pa.ListArray:
    """Keras' text_to_word_sequence over all texts at once; the lists keep empty strings, which no
    vocabulary has."""
    spaced = [text.lower().encode().translate(_BYTES_TO_SPACE) for text in texts]  # lower() as Keras
    return pc.split_pattern(pa.array(spaced, pa.binary()).view(pa.string()), " ")


def fit_vocabulary(lists: pa.ListArray, num_words: int) -> list[str]:
    """The num_words - 1 most frequent words of split_words(texts); word i (from 0) gets index i + 1."""
    words = pc.list_flatten(lists)
    # value_counts lists words in order of first appearance; a stable sort keeps that for ties.
    counts = pc.value_counts(pc.filter(words, pc.not_equal(words, "")))
    order = np.argsort(-counts.field("counts").to_numpy(), kind="stable")[: num_words - 1]
    return counts.field("values").take(order).to_pylist()


def words_to_sequences(lists: pa.ListArray, vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All reviews' indices concatenated, and offsets: review i is tokens[offsets[i]:offsets[i+1]]."""
    found = pc.index_in(pc.list_flatten(lists), value_set=pa.array(vocab, pa.string()))
    known = found.is_valid()
    tokens = pc.filter(found, known).to_numpy().astype(np.int32) + 1
    rows = pc.filter(pc.list_parent_indices(lists), known).to_numpy()
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(lists)), out=offsets[1:])
    return tokens, offsets


def texts_to_sequences(texts: Sequence[str], vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Keras' Tokenizer.texts_to_sequences, as (tokens, offsets)."""
    return words_to_sequences(split_words(texts), vocab)


def load_vocabulary() -> list[str]:
    return json.loads(require(paths.VOCAB).read_text(encoding="utf-8"))["words"]


def main() -> None:
    num_words = params.load()["tokenize"]["num_words"]
    tables = {
        split: pq.read_table(require(paths.split_file(paths.PREPARED, split, ".parquet"))) for split in paths.SPLITS
    }
    words = {split: split_words(table.column("text").to_pylist()) for split, table in tables.items()}
    vocab = fit_vocabulary(words["train"], num_words)
    if not vocab:
        raise PipelineError("the training texts contain no words: nothing to fit a vocabulary on")
    write_json(paths.VOCAB, {"num_words": num_words, "words": vocab})
    for split, table in tables.items():
        tokens, offsets = words_to_sequences(words[split], vocab)
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
