"""Clean text to word indices: the steps encode runs on the corpus, and that baseline (its words) and
predict (its indices) must repeat exactly.

Tokenizing is exactly Keras' legacy `Tokenizer(num_words)`: lower-case, its punctuation
filters, split on " ", index 1 = the most frequent word, ties in order of first appearance,
words at index >= num_words dropped. Splitting, counting and look-ups run in Arrow's C++
kernels over a batch of reviews at a time, several times faster than the Tokenizer's loop over
words; the data stages stream batches of files.BATCH_REVIEWS, so their memory does not grow with
the corpus, and any batch size gives the same bytes.
"""

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # keras Tokenizer's default filters
# The filters are ASCII, and ASCII bytes never occur inside a multi-byte UTF-8 character, so
# translating the encoded bytes is the same as translating the text, and much faster.
_BYTES_TO_SPACE = bytes.maketrans(FILTERS.encode(), b" " * len(FILTERS))


def split_words(texts: Sequence[str]) -> pa.ListArray:
    """Keras' text_to_word_sequence over all texts at once; the lists keep empty strings, which no
    vocabulary has."""
    spaced = [text.lower().encode().translate(_BYTES_TO_SPACE) for text in texts]  # lower() as Keras
    return pc.split_pattern(pa.array(spaced, pa.binary()).view(pa.string()), " ")


def distinct_words(lists: pa.ListArray) -> tuple[pa.StringArray, np.ndarray, np.ndarray]:
    """A batch of split_words lists as its distinct words in order of first appearance, each word's
    code (its index among them), and offsets: review i is codes[offsets[i]:offsets[i+1]]."""
    encoded = pc.dictionary_encode(pc.list_flatten(lists))
    return encoded.dictionary, encoded.indices.to_numpy(), (lists.offsets.to_numpy() - lists.offsets[0].as_py())


def fit_vocabulary(batches: Iterable[tuple[pa.StringArray, np.ndarray]], num_words: int) -> list[str]:
    """The num_words - 1 most frequent words over batches of distinct_words' (words, codes), in corpus
    order; word i (from 0) gets index i + 1."""
    totals: dict[str, int] = {}  # insertion order = first appearance in the whole corpus
    for words, codes in batches:
        counts = np.bincount(codes, minlength=len(words))
        for word, count in zip(words.to_pylist(), counts.tolist(), strict=True):
            if word:  # the empty strings split_words keeps
                totals[word] = totals.get(word, 0) + count
    frequency = np.fromiter(totals.values(), dtype=np.int64, count=len(totals))
    order = np.argsort(-frequency, kind="stable")[: num_words - 1]  # stable: ties keep corpus order
    words = list(totals)
    return [words[i] for i in order]


def codes_to_sequences(
    words: pa.StringArray, codes: np.ndarray, offsets: np.ndarray, vocab: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """distinct_words' output as indices: each word looked up once, not once per occurrence."""
    lookup = pc.fill_null(pc.index_in(words, value_set=pa.array(vocab, pa.string())), -1).to_numpy() + 1
    mapped = lookup.astype(np.int32)[codes]
    known = mapped != 0
    kept = np.zeros(len(known) + 1, dtype=np.int64)
    np.cumsum(known, out=kept[1:])
    return mapped[known], kept[offsets]


def words_to_sequences(lists: pa.ListArray, vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All reviews' indices concatenated, and offsets: review i is tokens[offsets[i]:offsets[i+1]]."""
    return codes_to_sequences(*distinct_words(lists), vocab)


def texts_to_sequences(texts: Sequence[str], vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Keras' Tokenizer.texts_to_sequences, as (tokens, offsets)."""
    return words_to_sequences(split_words(texts), vocab)
