"""Is a difference between two runs real? Intervals over the test reviews, and McNemar's test.

The test set is a sample of reviews: another sample of the same size would move a model's
accuracy. A bootstrap redraws the reviews with replacement DRAWS times and reads the 2.5th and
97.5th percentiles of the statistic; two models scored on the same reviews are redrawn together,
so their paired difference's interval is much narrower than two separate intervals suggest.
A fixed seed makes every interval the same bytes on every run.

Accuracy, F1 and the paired difference depend only on how many drawn reviews fall in each of
four cells (a confusion matrix, or right/wrong for two models), and redrawing n reviews puts a
multinomial number in each cell: the same distribution as redrawing the reviews one by one, in
microseconds. ROC AUC depends on the ranking, so its redraws are counts per review, in blocks.
"""

import numpy as np

DRAWS = 1000
SEED = 0
LEVEL = 0.95
BLOCK_VALUES = 2_000_000  # counts held at once by roc_auc_interval (16 MB), whatever the test set's size


def interval(values: np.ndarray) -> tuple[float, float]:
    """The central LEVEL interval of bootstrap values (percentiles)."""
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def cell_redraws(cells: np.ndarray, seed: int = SEED) -> np.ndarray:
    """DRAWS redraws of the reviews counted in `cells`: how many of them fall in each cell (DRAWS x cells)."""
    cells = np.asarray(cells, np.int64)
    n = int(cells.sum())
    return np.random.default_rng(seed).multinomial(n, cells / n, size=DRAWS)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def roc_auc_interval(y: np.ndarray, proba: np.ndarray, seed: int = SEED) -> tuple[float, float]:
    """The interval of ROC AUC over redrawn reviews: in each redraw, the chance that a drawn
    positive scores above a drawn negative (ties count half), the area under its ROC curve.

    Reviews are taken in ascending order of score, so each redraw's counts are summed in place:
    the negatives below each group of equal scores are a running sum. Every sum is of whole
    counts, in integers, so the interval has the same bytes on every machine."""
    order = np.argsort(proba, kind="stable")
    score, positive = proba[order], (y[order] == 1)
    n = len(score)
    ends = np.r_[np.flatnonzero(np.diff(score)), n - 1]  # last review of each group of equal scores
    before = np.r_[-1, ends[:-1]]  # last review before each group (-1: none)
    rng = np.random.default_rng(seed)
    block = max(1, min(DRAWS, BLOCK_VALUES // max(n, 1)))
    values = []
    for first in range(0, DRAWS, block):
        k = min(block, DRAWS - first)
        drawn = rng.integers(0, n, (k, n)) + n * np.arange(k)[:, None]
        counts = np.bincount(drawn.ravel(), minlength=k * n).reshape(k, n)
        # Running sums of drawn positives and of all drawn reviews, with a zero column for "none".
        pos, seen = np.zeros((k, n + 1), np.int64), np.zeros((k, n + 1), np.int64)
        np.cumsum(counts * positive, axis=1, out=pos[:, 1:])
        np.cumsum(counts, axis=1, out=seen[:, 1:])
        neg = seen - pos
        pos_in = pos[:, ends + 1] - pos[:, before + 1]
        neg_before = neg[:, before + 1]
        neg_in = neg[:, ends + 1] - neg_before
        wins2 = (pos_in * (2 * neg_before + neg_in)).sum(axis=1)  # twice the wins: ties count one
        pairs2 = 2 * pos[:, -1] * neg[:, -1]
        values.append(np.divide(wins2, pairs2, out=np.full(k, np.nan), where=pairs2 > 0))
    return interval(np.concatenate(values))


def headline(model: str, y: np.ndarray, proba: np.ndarray, threshold: float, scores: dict) -> list[dict]:
    """Rows model, metric, value, low, high for accuracy, F1 and ROC AUC: the values of the metrics
    file (`scores`) and their 95% bootstrap intervals over the test reviews."""
    predicted = (proba >= threshold).astype(int)
    tn, fp, fn, tp = cell_redraws(np.bincount(2 * y + predicted, minlength=4)).T  # true 0/1 x predicted 0/1
    intervals = {
        "accuracy": interval((tn + tp) / len(y)),
        "f1": interval(_ratio(2 * tp, 2 * tp + fp + fn)),
        "roc_auc": roc_auc_interval(y, proba) if 0 < y.sum() < len(y) else (float("nan"), float("nan")),
    }
    return [
        {"model": model, "metric": metric, "value": scores[metric], "low": round(low, 6), "high": round(high, 6)}
        for metric, (low, high) in intervals.items()
    ]


def mcnemar_p(a_correct: np.ndarray, b_correct: np.ndarray) -> float:
    """Exact McNemar test: two-sided binomial p-value on the reviews that exactly one model gets right."""
    # scipy.special, not scipy.stats: 0.3 s of import instead of 0.6; only compare needs it.
    from scipy.special import bdtr

    only_a = int(np.sum(a_correct & ~b_correct))
    only_b = int(np.sum(~a_correct & b_correct))
    if only_a + only_b == 0:
        return 1.0
    return min(1.0, 2 * float(bdtr(min(only_a, only_b), only_a + only_b, 0.5)))


def paired(a_correct: np.ndarray, b_correct: np.ndarray) -> dict:
    """Two models on the same reviews: each accuracy and B - A, with 95% intervals over the same
    redraws, and McNemar's exact p-value."""
    a_correct, b_correct = np.asarray(a_correct, bool), np.asarray(b_correct, bool)
    n = len(a_correct)
    # Cells: both wrong, only B right, only A right, both right.
    _, only_b, only_a, both = cell_redraws(np.bincount(2 * a_correct + b_correct, minlength=4)).T
    return {
        "reviews": n,
        "a": float(a_correct.mean()),
        "a_interval": interval((both + only_a) / n),
        "b": float(b_correct.mean()),
        "b_interval": interval((both + only_b) / n),
        "difference": float(b_correct.mean() - a_correct.mean()),
        "difference_interval": interval((only_b - only_a) / n),
        "p": mcnemar_p(a_correct, b_correct),
    }
