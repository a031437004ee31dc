"""PNG figures under reports/figures/, for people who read files rather than run `dvc plots`."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay

from pipeline.lib.files import atomic_path


def _save(figure: plt.Figure, path: Path) -> None:
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)


def training_history(history: dict[str, list[float]], path: Path) -> None:
    """The tutorial's two charts side by side: accuracy and loss per epoch, train and validation."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric in zip(axes, ("accuracy", "loss"), strict=True):
        ax.plot(epochs, history[metric], marker="o", label="train")
        ax.plot(epochs, history[f"val_{metric}"], marker="o", label="validation")
        ax.set(title=f"Train history: {metric}", xlabel="epoch", ylabel=metric)
        ax.legend(loc="best")
    _save(figure, path)


def confusion_matrix(y: np.ndarray, predicted: np.ndarray, labels: list[str], path: Path) -> None:
    figure, ax = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay.from_predictions(y, predicted, display_labels=labels, ax=ax, colorbar=False)
    ax.set_title("Confusion matrix (test)")
    _save(figure, path)


def roc(y: np.ndarray, proba: np.ndarray, path: Path) -> None:
    figure, ax = plt.subplots(figsize=(5, 4.5))
    RocCurveDisplay.from_predictions(y, proba, ax=ax, name="RNN", plot_chance_level=True)
    ax.set_title("ROC (test)")
    _save(figure, path)
