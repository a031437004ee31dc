"""PNG figures under reports/figures/, for people who read files rather than run `dvc plots`.

Matplotlib loads inside the functions (a stage pays for it only when it draws), through its
object API on the Agg canvas rather than pyplot, which would look for a GUI backend. The
confusion matrix and ROC are drawn with the calls scikit-learn's Display classes make, so
the PNGs keep their bytes without importing scikit-learn into `evaluate`.
"""

from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.lib.files import atomic_path
from pipeline.lib.metrics import confusion_counts, roc_auc, roc_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> "Figure":
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def _save(figure: "Figure", path: Path) -> None:
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


def training_history(history: dict[str, list[float]], path: Path) -> None:
    """The tutorial's two charts side by side: accuracy and loss per epoch, train and validation."""
    figure = _figure(10, 4)
    axes = figure.subplots(1, 2)
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric in zip(axes, ("accuracy", "loss"), strict=True):
        ax.plot(epochs, history[metric], marker="o", label="train")
        ax.plot(epochs, history[f"val_{metric}"], marker="o", label="validation")
        ax.set(title=f"Train history: {metric}", xlabel="epoch", ylabel=metric)
        ax.legend(loc="best")
    _save(figure, path)


def confusion_matrix(y: np.ndarray, predicted: np.ndarray, labels: list[str], path: Path) -> None:
    """Counts with their numbers, in the colour that reads on each cell (as ConfusionMatrixDisplay)."""
    figure = _figure(5, 4.5)
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
    _save(figure, path)


def roc(y: np.ndarray, proba: np.ndarray, path: Path) -> None:
    """The ROC curve with its area and the chance diagonal (as RocCurveDisplay), drawn through the
    plot table's rounded points: the figure shows what the table holds, and float noise far below
    its rounding (Keras' float32 against the NumPy pass) does not move a pixel."""
    figure = _figure(5, 4.5)
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
    _save(figure, path)
