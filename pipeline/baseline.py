"""Stage `baseline`: TF-IDF + logistic regression over the same vocabulary size and tokens.

It gives the RNN's test accuracy a reference point: its metrics file has the same keys, so
`dvc metrics diff` shows both side by side.

The words are counted in Arrow's C++ kernels, not by scikit-learn's CountVectorizer, whose
Python loop over 6 million words took 3 s of this 25,000-review job. The count matrices are
CountVectorizer's to the byte (same columns, same order of entries in each row, which sets the
order of floating-point sums; the tests compare them), so TfidfVectorizer's scores are unchanged.
They are counted BATCH_REVIEWS reviews at a time, read from Parquet batch by batch, so memory
holds the count matrix and one batch, not every word of the corpus (at 16x IMDb that took 6.7 GB,
now 1.6 GB); terms are numbered in order of first appearance across batches, so any batch size
gives the same bytes.
"""

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import pipeline.lib.blas  # noqa: F401  first: NumPy and SciPy with OpenBLAS's kernels pinned

# isort: split
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression

from pipeline.lib import params, paths
from pipeline.lib.cli import run
from pipeline.lib.files import BATCH_REVIEWS, column_batches, require
from pipeline.lib.metrics import write_scores
from pipeline.lib.tokenizer import split_words

log = logging.getLogger("baseline")

# What this stage reads of params.yaml; dvc.yaml's `params:` lists the same (tests/test_params.py).
PARAMS = ("encode.num_words", "evaluate.threshold", "baseline")

Counts = tuple[np.ndarray, np.ndarray, np.ndarray]  # a batch's CSR indptr, indices and int32 data


def terms(texts: Sequence[str], ngram_max: int) -> tuple[np.ndarray, pa.Array]:
    """(document, term) for every word and word n-gram, in CountVectorizer's order: document by
    document, its words, then its pairs of words, and so on. Words split as the RNN's tokenizer splits."""
    lists = split_words(texts)
    words = pc.list_flatten(lists)
    nonempty = pc.not_equal(words, "")
    words = pc.filter(words, nonempty)
    docs = pc.list_parent_indices(lists).to_numpy()[nonempty.to_numpy(zero_copy_only=False)]
    grams, gram_docs, sizes = [words], [docs], [np.ones(len(docs), np.int64)]
    for n in range(2, ngram_max + 1):
        starts = np.flatnonzero(docs[: len(docs) - n + 1] == docs[n - 1 :])  # n words of one document
        grams.append(pc.binary_join_element_wise(*(words.take(starts + k) for k in range(n)), " "))
        gram_docs.append(docs[starts])
        sizes.append(np.full(len(starts), n, np.int64))
    if len(grams) == 1:
        return docs, words
    order = np.lexsort((np.concatenate(sizes), np.concatenate(gram_docs)))
    return np.concatenate(gram_docs)[order], pa.concat_arrays(grams).take(order)


def batch_counts(docs: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> Counts:
    """Occurrences of each (document, column) in a batch, columns ascending in each row."""
    matrix = sparse.coo_matrix((np.ones(len(docs), np.intc), (docs, columns)), shape=shape).tocsr()
    matrix.sum_duplicates()  # one entry per column, sorted
    return matrix.indptr, matrix.indices, matrix.data


def assemble(batches: list[Counts], column: np.ndarray, width: int) -> sparse.csr_matrix:
    """The batches' rows stacked as one float64 matrix, each entry's column mapped through `column`
    (-1 drops the entry), each row's entries in their order. Empties `batches` as it goes: their
    int32 entries and the matrix's float64 ones are never both held whole (scipy's vstack would
    hold two whole matrices)."""
    lengths = []
    for i, (indptr, indices, counts) in enumerate(batches):
        mapped = column[indices]
        kept = mapped >= 0
        before = np.zeros(len(kept) + 1, np.int64)  # entries kept before each one
        np.cumsum(kept, out=before[1:])
        lengths.append(np.diff(before[indptr]))
        batches[i] = (indptr, mapped[kept], counts[kept])
    indptr = np.zeros(sum(map(len, lengths)) + 1, np.int64)
    np.cumsum(np.concatenate(lengths), out=indptr[1:])
    indices = np.concatenate([indices for _, indices, _ in batches])
    pieces = [counts for _, _, counts in reversed(batches)]
    batches.clear()  # the batches' indices go before the data come
    data, start = np.empty(len(indices), np.float64), 0
    while pieces:
        counts = pieces.pop()  # and each batch's counts once copied
        data[start : start + len(counts)] = counts
        start += len(counts)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, width))


def fit_counts(
    batches: Iterable[Sequence[str]], max_features: int, ngram_max: int
) -> tuple[sparse.csr_matrix, list[str]]:
    """CountVectorizer(max_features).fit_transform over batches of texts: the counts and the
    vocabulary, alphabetical. Memory: the counts and one batch, not every word of the corpus."""
    found = pa.array([], pa.string())  # every term so far, in order of first appearance
    totals = np.zeros(0)  # each term's occurrences, as float64 like CountVectorizer's column sums
    rows = []
    for texts in batches:
        docs, grams = terms(texts, ngram_max)
        encoded = pc.dictionary_encode(grams)  # the batch's terms in order of first appearance
        ids = pc.fill_null(pc.index_in(encoded.dictionary, value_set=found), -1)
        ids = ids.to_numpy(zero_copy_only=False, writable=True)
        new = ids < 0  # first seen in this batch: numbered after all earlier terms, as CountVectorizer does
        ids[new] = len(found) + np.arange(np.count_nonzero(new))
        found = pa.concat_arrays([found, encoded.dictionary.filter(pa.array(new))])
        rows.append(batch_counts(docs, ids[encoded.indices.to_numpy()], (len(texts), len(found))))
        totals = np.bincount(rows[-1][1], weights=rows[-1][2], minlength=len(found)) + np.pad(
            totals, (0, len(found) - len(totals))
        )
    words = found.to_pylist()
    # Columns renumbered alphabetically.
    order = sorted(range(len(words)), key=words.__getitem__)
    # The max_features most frequent terms, ties broken as CountVectorizer's argsort breaks them.
    kept = np.arange(len(words))
    if len(words) > max_features:
        kept = np.sort((-totals[order]).argsort()[:max_features])
    column = np.full(len(words), -1, np.intc)  # term (first-appearance id) -> column, or -1: dropped
    column[np.asarray(order, np.int64)[kept]] = np.arange(len(kept))
    return assemble(rows, column, len(kept)), [words[order[i]] for i in kept]


def transform_counts(batches: Iterable[Sequence[str]], vocabulary: list[str], ngram_max: int) -> sparse.csr_matrix:
    """CountVectorizer.transform over batches of texts: counts of the vocabulary's terms; other
    terms are dropped."""
    value_set = pa.array(vocabulary, pa.string())
    rows = []
    for texts in batches:
        docs, grams = terms(texts, ngram_max)
        columns = pc.index_in(grams, value_set=value_set)
        known = columns.is_valid()
        rows.append(
            batch_counts(
                docs[known.to_numpy(zero_copy_only=False)],
                pc.filter(columns, known).to_numpy(),
                (len(texts), len(vocabulary)),
            )
        )
    return assemble(rows, np.arange(len(vocabulary), dtype=np.intc), len(vocabulary))


def column(path: Path, name: str) -> np.ndarray:
    return pq.read_table(path, columns=[name]).column(name).to_numpy()


def main() -> None:
    p = params.load(PARAMS)
    settings = p["baseline"]
    # Keras' Tokenizer(num_words) keeps num_words - 1 words; the same count here by default.
    max_features = settings["max_features"] or p["encode"]["num_words"] - 1
    train, test = (require(paths.split_file(paths.PREPARED, split, ".parquet")) for split in paths.SPLITS)
    counts, vocabulary = fit_counts(column_batches(train, "text", BATCH_REVIEWS), max_features, settings["ngram_max"])
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
    model = LogisticRegression(C=settings["C"], max_iter=1000)
    model.fit(tfidf.transform(counts, copy=False), column(train, "label"))
    del counts  # the test counts take its place
    test_counts = transform_counts(column_batches(test, "text", BATCH_REVIEWS), vocabulary, settings["ngram_max"])
    proba = model.predict_proba(tfidf.transform(test_counts, copy=False))[:, 1]
    y = column(test, "label").astype(int)
    plots, threshold = paths.PLOTS / "baseline", p["evaluate"]["threshold"]
    scores = write_scores("baseline", paths.BASELINE_METRICS, plots, column(test, "id"), y, proba, threshold)
    log.info("test: %s", scores)


if __name__ == "__main__":
    run(main)
