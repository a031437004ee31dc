"""Stage `embed`: the word vectors the network's Embedding layer starts from (params.yaml's embed.init).

random, the tutorial: nothing to learn; an empty array tells train to keep Keras' random start.
word2vec: skip-gram vectors (gensim) learnt from the archive's unlabelled reviews (train/unsup,
50,000 in IMDb) and the training reviews, never the test reviews, as the network sees them:
cleaned, tokenized with the vocabulary, unknown words dropped. The labels teach the network
from 20,000 reviews; the vectors bring what 75,000 say about how words are used (neighbours of
`excellent`: outstanding, terrific). Row i is word i's vector; row 0 (padding) and words the
corpus never holds are zeros.

The same params give the same bytes: one worker thread (gensim's condition for a repeatable run),
train.seed, and OpenBLAS's AVX2 kernels for gensim's dot products and updates (pipeline/lib/blas.py).
"""

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import pipeline.lib.blas  # noqa: F401  first: NumPy and SciPy with OpenBLAS's kernels pinned

# isort: split
import numpy as np

from pipeline.lib import params, paths, vocabulary
from pipeline.lib.archive import iter_unlabelled
from pipeline.lib.cleaning import clean_text
from pipeline.lib.cli import run
from pipeline.lib.files import BATCH_REVIEWS, load_npz, require, save_npz
from pipeline.lib.tokenizer import texts_to_sequences

log = logging.getLogger("embed")

# What this stage reads of params.yaml; dvc.yaml's `params:` lists the same (tests/test_params.py).
PARAMS = ("embed", "encode.num_words", "model.embedding_dim", "train.seed")


class Sequences:
    """Reviews as lists of word indices (as strings, gensim's keys), read again on every pass."""

    def __init__(self, parts: list[tuple[np.ndarray, np.ndarray]], num_words: int) -> None:
        self.parts = parts  # (tokens, offsets) of each source
        self.names = [str(i) for i in range(num_words)]

    def __iter__(self) -> Iterator[list[str]]:
        names = self.names
        for tokens, offsets in self.parts:
            for start, end in itertools.pairwise(offsets.tolist()):
                if end > start:
                    yield [names[i] for i in tokens[start:end].tolist()]

    def __len__(self) -> int:
        return sum(len(offsets) - 1 for _, offsets in self.parts)


def unlabelled_sequences(archive: Path, vocab: list[str], batch: int = BATCH_REVIEWS) -> tuple[np.ndarray, ...]:
    """The archive's unlabelled reviews, cleaned and tokenized as encode does the labelled ones."""
    tokens, lengths, texts = [np.zeros(0, np.int32)], [np.zeros(0, np.int64)], []

    def flush() -> None:
        batch_tokens, offsets = texts_to_sequences(texts, vocab)
        tokens.append(batch_tokens)
        lengths.append(np.diff(offsets))
        texts.clear()

    for _, data in iter_unlabelled(archive):
        texts.append(clean_text(data.decode("utf-8", errors="replace")))
        if len(texts) == batch:
            flush()
    if texts:
        flush()
    offsets = np.zeros(sum(len(n) for n in lengths) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(lengths), out=offsets[1:])
    return np.concatenate(tokens).astype(np.int32), offsets


def word2vec(corpus: Sequences, dim: int, settings: dict, seed: int) -> np.ndarray:
    """Skip-gram with negative sampling over `corpus`: a (num_words, dim) float32 matrix."""
    from gensim.models import Word2Vec  # only here: a second of imports the default start skips

    logging.getLogger("gensim").setLevel(logging.WARNING)  # not a line per 10,000 words

    model = Word2Vec(
        corpus,
        vector_size=dim,
        window=settings["window"],
        epochs=settings["epochs"],
        sg=1,
        negative=5,
        min_count=1,
        workers=1,
        seed=seed,
    )
    vectors = np.zeros((len(corpus.names), dim), dtype=np.float32)
    for key, index in model.wv.key_to_index.items():
        vectors[int(key)] = model.wv.vectors[index]
    log.info("word2vec: %d words, %d reviews, %d epochs", len(model.wv), len(corpus), settings["epochs"])
    return vectors


def main() -> None:
    p = params.load(PARAMS)
    settings, dim = p["embed"], p["model"]["embedding_dim"]
    if settings["init"] == "random":
        save_npz(paths.EMBEDDING, vectors=np.zeros((0, dim), dtype=np.float32))
        return
    vocab = vocabulary.load()
    train = load_npz(require(paths.split_file(paths.ENCODED, "train", ".npz")))
    unlabelled = unlabelled_sequences(require(paths.ARCHIVE), vocab)
    log.info("%d unlabelled and %d training reviews", len(unlabelled[1]) - 1, len(train["offsets"]) - 1)
    corpus = Sequences([unlabelled, (train["tokens"], train["offsets"])], p["encode"]["num_words"])
    vectors = word2vec(corpus, dim, settings, p["train"]["seed"])
    save_npz(paths.EMBEDDING, vectors=vectors)


if __name__ == "__main__":
    run(main)
