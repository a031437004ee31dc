"""Train's figure: the training history, drawn apart from the metric code so that editing the
test scores' figures or metrics does not retrain the model."""

from pathlib import Path

import numpy as np

from pipeline.lib import figures


def training_history(history: dict[str, list[float]], path: Path) -> None:
    """The tutorial's two charts side by side: accuracy and loss per epoch, train and validation."""
    figure = figures.new(10, 4)
    axes = figure.subplots(1, 2)
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric in zip(axes, ("accuracy", "loss"), strict=True):
        ax.plot(epochs, history[metric], marker="o", label="train")
        ax.plot(epochs, history[f"val_{metric}"], marker="o", label="validation")
        ax.set(title=f"Train history: {metric}", xlabel="epoch", ylabel=metric)
        ax.legend(loc="best")
    figures.save(figure, path)
