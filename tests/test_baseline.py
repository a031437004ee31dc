"""baseline counts words in Arrow; its matrices must be scikit-learn's CountVectorizer's to the byte."""

import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cmd
from pipelines import workspace
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from pipeline.baseline import fit_counts, transform_counts
from pipeline.lib.tokenizer import FILTERS

# Keras' rule as a token pattern: what the baseline gave TfidfVectorizer before it counted in Arrow.
WORD = "[^" + re.escape(FILTERS + " ") + "]+"


def corpus(n: int, seed: int) -> list[str]:
    """Reviews from a small vocabulary (many frequency ties), with case, punctuation, accents, empty ones."""
    rng = np.random.default_rng(seed)
    words = np.array(["Film", "film", "bad", "good", "café", "東京", "it's", "a-b", "x", "plot", "8/10", "end.The"])
    texts = [
        " ".join(rng.choice(words, rng.integers(0, 30))) + rng.choice(["", "!", " <br />", "\t..."]) for _ in range(n)
    ]
    return [*texts, "", "!!!"]


@pytest.mark.parametrize(("max_features", "ngram_max"), [(5, 1), (1999, 1), (7, 2), (40, 3)])
def test_counts_are_count_vectorizers(max_features: int, ngram_max: int) -> None:
    train, test = corpus(300, 0), corpus(100, 1)
    reference = CountVectorizer(
        token_pattern=WORD, max_features=max_features, ngram_range=(1, ngram_max), dtype=np.float64
    )
    expected = reference.fit_transform(train)
    counts, vocabulary = fit_counts([train], max_features, ngram_max)
    assert vocabulary == reference.get_feature_names_out().tolist()
    assert_same(counts, expected)
    assert_same(transform_counts([test], vocabulary, ngram_max), reference.transform(test))


@pytest.mark.parametrize("batch", [1, 2, 3])
@pytest.mark.parametrize(("max_features", "ngram_max"), [(5, 1), (1999, 1), (7, 2), (40, 3)])
def test_batches_give_the_matrices_of_one_batch(batch: int, max_features: int, ngram_max: int) -> None:
    """Terms first seen in a later batch are numbered after the earlier ones, as in one pass."""
    train, test = corpus(60, 2), corpus(30, 3)
    counts, vocabulary = fit_counts(batches(train, batch), max_features, ngram_max)
    expected, expected_vocabulary = fit_counts([train], max_features, ngram_max)
    assert vocabulary == expected_vocabulary
    assert_same(counts, expected)
    assert_same(
        transform_counts(batches(test, batch), vocabulary, ngram_max), transform_counts([test], vocabulary, ngram_max)
    )


def batches(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def assert_same(ours: sparse.csr_matrix, theirs: sparse.csr_matrix) -> None:
    assert type(ours) is type(theirs) and ours.shape == theirs.shape
    # Marked sorted though renumbered rows are not: anything that re-sorted them would reorder the TF-IDF sums.
    assert ours.has_sorted_indices == theirs.has_sorted_indices
    for field in ("indptr", "indices", "data"):  # each row's order too: it orders the TF-IDF sums
        assert getattr(ours, field).dtype == getattr(theirs, field).dtype
        assert np.array_equal(getattr(ours, field), getattr(theirs, field)), field


def test_the_probabilities_are_the_same_bytes_whatever_kernels_openblas_would_pick(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """OpenBLAS picks its kernels by CPU, and the logistic regression's last digits follow: AVX-512's
    (SkylakeX, this machine's own) and AVX2's (Haswell) gave other probabilities here. The stage
    pins one set (pipeline/lib/blas.py), so the environment's choice changes nothing."""
    repo = tmp_path / "repo"
    shutil.copytree(workspace(tmp_path_factory, "base").path, repo, symlinks=True)
    scores = set()
    for kernels in ("SkylakeX", "Haswell"):
        run_cmd([sys.executable, "-m", "pipeline.baseline"], repo, OPENBLAS_CORETYPE=kernels)
        scores.add((repo / "data/scores/baseline.csv").read_bytes())
    assert len(scores) == 1
