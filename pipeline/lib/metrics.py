"""Scores and plot tables shared by `evaluate` (the RNN) and `baseline` (TF-IDF + logistic
regression), so both metrics files carry the same keys and their curves overlay in DVC plots.

Computed with NumPy in the same operations, order and dtypes as scikit-learn's metrics (the
tests compare them), so the files keep their bytes: importing sklearn.metrics costs a second
of each stage's start-up, more than the sums themselves.
"""

import csv
from pathlib import Path

import numpy as np

from pipeline.lib import paths, significance
from pipeline.lib.files import atomic_path, write_json

GRID = np.linspace(0.0, 1.0, 101)  # curves on a fixed grid: small files that diff across commits


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean cross-entropy; probabilities clipped to the dtype's epsilon, as scikit-learn does."""
    eps = np.finfo(proba.dtype).eps
    chosen = np.where(y == 1, np.clip(proba, eps, 1 - eps), np.clip(1 - proba, eps, 1 - eps))
    return float(np.mean(-np.log(chosen)))


def clf_curve(y: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positives at each distinct score, highest score first, and the scores."""
    order = np.argsort(proba, kind="mergesort")[::-1]
    score, truth = proba[order], (y[order] == 1).astype(np.float64)
    ends = np.r_[np.flatnonzero(np.diff(score)), truth.size - 1]
    tps = np.cumsum(truth)[ends]
    return 1 + ends - tps, tps, score[ends]


def roc_curve(y: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) without the collinear points, which change neither the curve nor its area."""
    fps, tps, _ = clf_curve(y, proba)
    if len(fps) > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps = fps[keep], tps[keep]
    fps, tps = np.r_[0, fps], np.r_[0, tps]
    return fps / fps[-1], tps / tps[-1]


def roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    if len(np.unique(y)) != 2:
        return float("nan")
    fpr, tpr = roc_curve(y, proba)
    return float(np.trapezoid(tpr, fpr))


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def classification_metrics(y: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = (proba >= threshold).astype(int)
    true_pos = int(np.sum((predicted == 1) & (y == 1)))
    positives, predicted_pos = int(np.sum(y == 1)), int(np.sum(predicted == 1))
    scores = {
        "accuracy": np.mean(predicted == y),
        "loss": log_loss(y, np.clip(proba, 1e-7, 1 - 1e-7)),
        "precision": _ratio(true_pos, predicted_pos),
        "recall": _ratio(true_pos, positives),
        "f1": _ratio(2 * true_pos, positives + predicted_pos),
        "roc_auc": roc_auc(y, proba),
    }
    return {name: round(float(value), 6) for name, value in scores.items()}


def roc_table(y: np.ndarray, proba: np.ndarray) -> list[dict]:
    fpr, tpr = roc_curve(y, proba)
    return [
        {"fpr": round(f, 4), "tpr": round(float(t), 6)} for f, t in zip(GRID, np.interp(GRID, fpr, tpr), strict=True)
    ]


def precision_recall_table(y: np.ndarray, proba: np.ndarray) -> list[dict]:
    """Interpolated precision (the best at recall >= r) on a fixed recall grid."""
    fps, tps, _ = clf_curve(y, proba)
    predicted_pos = tps + fps
    precision = np.zeros_like(tps)
    np.divide(tps, predicted_pos, out=precision, where=predicted_pos != 0)
    recall = np.ones_like(tps) if tps[-1] == 0 else tps / tps[-1]
    precision, recall = np.r_[precision[::-1], 1], np.r_[recall[::-1], 0]
    best = np.maximum.accumulate(precision)  # recall falls along the arrays, so this is max over recall >= r
    rows = []
    for r in GRID:
        reachable = best[recall >= r]
        rows.append({"recall": round(r, 4), "precision": round(float(reachable[-1]), 6)})
    return rows


def confusion_counts(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """2 x 2 counts: rows the true label (0, 1), columns the predicted one."""
    return np.bincount(2 * y.astype(int) + predicted.astype(int), minlength=4).reshape(2, 2)


def accuracy_by(group: np.ndarray, correct: np.ndarray, key: str, names: dict | None = None) -> list[dict]:
    """Accuracy for each value of `group`, ascending; `names` turns values into labels."""
    rows = []
    for value in np.unique(group):
        hits = correct[group == value]
        label = names[value] if names else int(value)
        rows.append({key: label, "reviews": int(hits.size), "accuracy": round(float(hits.mean()), 6)})
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)


def write_review_scores(path: Path, ids: np.ndarray, y: np.ndarray, proba: np.ndarray) -> None:
    """Every test review's id, label and probability, in the test split's order: what compare pairs
    across revisions. Each probability in the shortest digits that give back its own dtype's value."""
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        f.write("id,label,probability\n")
        rows = zip(ids.tolist(), y.tolist(), map(str, proba), strict=True)
        f.writelines(f"{i},{label},{p}\n" for i, label, p in rows)


def write_scores(
    model: str, metrics_file: Path, plots: Path, ids: np.ndarray, y: np.ndarray, proba: np.ndarray, threshold: float
) -> dict:
    """One classifier's metrics JSON, its ROC and precision-recall tables, its headline table (the
    metrics with 95% intervals) and every test review's score (paths.MODEL_SCORES[model])."""
    scores = classification_metrics(y, proba, threshold)
    write_json(metrics_file, scores)
    write_csv(plots / "roc.csv", roc_table(y, proba))
    write_csv(plots / "precision_recall.csv", precision_recall_table(y, proba))
    write_csv(plots / paths.HEADLINE, significance.headline(model, y, proba, threshold, scores))
    write_review_scores(paths.MODEL_SCORES[model], ids, y, proba)
    return scores
