"""Scores and plot tables shared by `evaluate` (the RNN) and `baseline` (TF-IDF + logistic
regression), so both metrics files carry the same keys and their curves overlay in DVC plots."""

import csv
from pathlib import Path

import numpy as np
from sklearn import metrics

from pipeline.lib.files import atomic_path, write_json

GRID = np.linspace(0.0, 1.0, 101)  # curves on a fixed grid: small files that diff across commits


def classification_metrics(y: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = (proba >= threshold).astype(int)
    scores = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "loss": metrics.log_loss(y, np.clip(proba, 1e-7, 1 - 1e-7), labels=[0, 1]),
        "precision": metrics.precision_score(y, predicted, zero_division=0),
        "recall": metrics.recall_score(y, predicted, zero_division=0),
        "f1": metrics.f1_score(y, predicted, zero_division=0),
        "roc_auc": metrics.roc_auc_score(y, proba) if len(np.unique(y)) == 2 else float("nan"),
    }
    return {name: round(float(value), 6) for name, value in scores.items()}


def roc_table(y: np.ndarray, proba: np.ndarray) -> list[dict]:
    fpr, tpr, _ = metrics.roc_curve(y, proba)
    return [
        {"fpr": round(f, 4), "tpr": round(float(t), 6)} for f, t in zip(GRID, np.interp(GRID, fpr, tpr), strict=True)
    ]


def precision_recall_table(y: np.ndarray, proba: np.ndarray) -> list[dict]:
    """Interpolated precision (the best at recall >= r) on a fixed recall grid."""
    precision, recall, _ = metrics.precision_recall_curve(y, proba)
    best = np.maximum.accumulate(precision)  # recall falls along the arrays, so this is max over recall >= r
    rows = []
    for r in GRID:
        reachable = best[recall >= r]
        rows.append({"recall": round(r, 4), "precision": round(float(reachable[-1]), 6)})
    return rows


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


def write_scores(metrics_file: Path, plots: Path, y: np.ndarray, proba: np.ndarray, threshold: float) -> dict:
    """Metrics JSON plus the ROC and precision-recall tables of one classifier."""
    scores = classification_metrics(y, proba, threshold)
    write_json(metrics_file, scores)
    write_csv(plots / "roc.csv", roc_table(y, proba))
    write_csv(plots / "precision_recall.csv", precision_recall_table(y, proba))
    return scores
