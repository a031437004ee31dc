"""Evaluate's figures: the confusion matrix and ROC of the test set.

Drawn with the calls scikit-learn's Display classes make, so the PNGs keep their bytes without
importing scikit-learn into `evaluate`.
"""

from itertools import product
from pathlib import Path

import numpy as np

from pipeline.lib import figures
from pipeline.lib.metrics import confusion_counts, roc_auc, roc_table


def confusion_matrix(y: np.ndarray, predicted: np.ndarray, labels: list[str], path: Path) -> None:
    """Counts with their numbers, in the colour that reads on each cell (as ConfusionMatrixDisplay)."""
    figure = figures.new(5, 4.5)
    ax = figure.subplots()
    counts = confusion_counts(y, predicted)
    image = ax.imshow(counts, interpolation="nearest", cmap="viridis")
    dark, light = image.cmap(0), image.cmap(1.0)
    middle = (counts.max() + counts.min()) / 2.0
    for i, j in product(range(2), range(2)):
        ax.text(j, i, f"{counts[i, j]:d}", ha="center", va="center", color=light if counts[i, j] < middle else dark)
    ax.set(
        xticks=np.arange(2),
        yticks=np.arange(2),
        xticklabels=labels,
        yticklabels=labels,
        ylabel="True label",
        xlabel="Predicted label",
    )
    ax.set_ylim((1.5, -0.5))
    for label in ax.get_xticklabels():
        label.set_rotation("horizontal")
    ax.set_title("Confusion matrix (test)")
    figures.save(figure, path)


def roc(y: np.ndarray, proba: np.ndarray, path: Path) -> None:
    """The ROC curve with its area and the chance diagonal (as RocCurveDisplay), drawn through the
    plot table's rounded points: the figure shows what the table holds, and float noise far below
    its rounding (Keras' float32 against the NumPy pass) does not move a pixel."""
    figure = figures.new(5, 4.5)
    ax = figure.subplots()
    table = roc_table(y, proba)
    ax.plot([row["fpr"] for row in table], [row["tpr"] for row in table], label=f"RNN (AUC = {roc_auc(y, proba):0.2f})")
    ax.set(
        xlabel="False Positive Rate (Positive label: 1)",
        xlim=(-0.01, 1.01),
        ylabel="True Positive Rate (Positive label: 1)",
        ylim=(-0.01, 1.01),
        aspect="equal",
    )
    ax.plot((0, 1), (0, 1), label="Chance level (AUC = 0.5)", color="k", linestyle="--")
    ax.legend(loc="lower right")
    ax.set_title("ROC (test)")
    figures.save(figure, path)
