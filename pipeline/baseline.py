"""Stage `baseline`: TF-IDF + logistic regression over the same vocabulary size and tokens.

It gives the RNN's test accuracy a reference point: its metrics file has the same keys, so
`dvc metrics diff` shows both side by side.

The words are counted in Arrow's C++ kernels, not by scikit-learn's CountVectorizer, whose
Python loop over 6 million words took 3 s of this 25,000-review job. The count matrices are
CountVectorizer's to the byte (same columns, same order of entries in each row, which sets the
order of floating-point sums; the tests compare them), so TfidfVectorizer's scores are unchanged.
"""

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression

from pipeline.lib import params, paths
from pipeline.lib.cli import run
from pipeline.lib.files import require
from pipeline.lib.metrics import write_scores
from pipeline.lib.text import split_words

log = logging.getLogger("baseline")


def terms(texts: list[str], ngram_max: int) -> tuple[np.ndarray, pa.Array]:
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


def count_matrix(docs: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> sparse.csr_matrix:
    """Occurrences of each (document, column), columns ascending in each row, as float64."""
    matrix = sparse.coo_matrix((np.ones(len(docs), np.intc), (docs, columns)), shape=shape).tocsr()
    matrix.sum_duplicates()  # one entry per column, sorted
    matrix = matrix.astype(np.float64)
    matrix.sort_indices()  # already sorted: this records it, as CountVectorizer's matrix does
    return matrix


def fit_counts(texts: list[str], max_features: int, ngram_max: int) -> tuple[sparse.csr_matrix, list[str]]:
    """CountVectorizer(max_features).fit_transform: the counts and the vocabulary, alphabetical."""
    docs, grams = terms(texts, ngram_max)
    encoded = pc.dictionary_encode(grams)  # ids in order of first appearance, as CountVectorizer numbers terms
    found = encoded.dictionary.to_pylist()
    counts = count_matrix(docs, encoded.indices.to_numpy(), (len(texts), len(found)))
    # Columns renumbered alphabetically, each row's entries left in their order.
    order = sorted(range(len(found)), key=found.__getitem__)
    renumber = np.empty(len(found), counts.indices.dtype)
    renumber[order] = np.arange(len(found))
    counts.indices = renumber.take(counts.indices)
    # The max_features most frequent terms, ties broken as CountVectorizer's argsort breaks them.
    kept = np.arange(len(found))
    if len(found) > max_features:
        kept = np.sort((-np.asarray(counts.sum(axis=0)).ravel()).argsort()[:max_features])
    return counts[:, kept], [found[order[i]] for i in kept]


def transform_counts(texts: list[str], vocabulary: list[str], ngram_max: int) -> sparse.csr_matrix:
    """CountVectorizer.transform: counts of the vocabulary's terms; other terms are dropped."""
    docs, grams = terms(texts, ngram_max)
    columns = pc.index_in(grams, value_set=pa.array(vocabulary, pa.string()))
    known = columns.is_valid()
    return count_matrix(
        docs[known.to_numpy(zero_copy_only=False)],
        pc.filter(columns, known).to_numpy(),
        (len(texts), len(vocabulary)),
    )


def main() -> None:
    p = params.load()
    settings = p["baseline"]
    # Keras' Tokenizer(num_words) keeps num_words - 1 words; the same count here by default.
    max_features = settings["max_features"] or p["encode"]["num_words"] - 1
    train, test = (
        pq.read_table(require(paths.split_file(paths.PREPARED, split, ".parquet")), columns=["text", "label"])
        for split in paths.SPLITS
    )
    counts, vocabulary = fit_counts(train.column("text").to_pylist(), max_features, settings["ngram_max"])
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
    model = LogisticRegression(C=settings["C"], max_iter=1000)
    model.fit(tfidf.transform(counts, copy=False), train.column("label").to_numpy())
    test_counts = transform_counts(test.column("text").to_pylist(), vocabulary, settings["ngram_max"])
    proba = model.predict_proba(tfidf.transform(test_counts, copy=False))[:, 1]
    y = test.column("label").to_numpy().astype(int)
    scores = write_scores(paths.BASELINE_METRICS, paths.PLOTS / "baseline", y, proba, p["evaluate"]["threshold"])
    log.info("test: %s", scores)


if __name__ == "__main__":
    run(main)
