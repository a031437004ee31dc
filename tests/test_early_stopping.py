"""Early stopping where it matters: on noise the training loss keeps falling while the validation
loss rises, so train.early_stopping_patience must stop on the validation loss (or, with
train.early_stopping_monitor, the validation accuracy), after `patience` epochs without a better
value, and save the best epoch's weights."""

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest
from pipelines import diverging, key_workspace, read_params

from pipeline.lib.backend import keras
from pipeline.lib.files import load_npz
from pipeline.train import split_validation


def curve(repo: Path, split: str, metric: str = "loss") -> list[float]:
    """The loss or accuracy per epoch that DVCLive logged ("train" or "eval")."""
    with (repo / f"reports/train/plots/metrics/{split}/{metric}.tsv").open() as f:
        return [float(row[metric]) for row in csv.DictReader(f, delimiter="\t")]


def validation_scores(repo: Path) -> tuple[float, float]:
    """The saved model's loss and accuracy on the validation rows that training held out."""
    settings = read_params(repo)["train"]
    data = load_npz(repo / "data/padded/train.npz")
    _, x_val, _, y_val = split_validation(data["x"], data["y"], settings["validation_split"], settings["seed"])
    model = keras.saving.load_model(repo / "models/model.keras", compile=False)
    proba = np.asarray(model(x_val))[:, 0]
    loss = keras.losses.binary_crossentropy(y_val[:, None].astype("float32"), proba[:, None])
    return float(np.mean(loss)), float(np.mean((proba > 0.5) == y_val))  # Keras' BinaryAccuracy: > 0.5


def test_the_losses_part_ways_on_noise(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The data the early-stopping test needs: without it every epoch runs, and by the end the
    training loss is below, the validation loss above, their values at the best validation epoch."""
    repo = diverging(tmp_path_factory).path
    train, val = curve(repo, "train"), curve(repo, "eval")
    best = int(np.argmin(val))
    assert len(val) == read_params(repo)["train"]["epochs"]
    assert best < len(val) - 3
    assert train[-1] < train[best] and val[-1] > val[best]


def test_early_stopping_stops_on_the_validation_loss_and_keeps_the_best_epoch(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    full = diverging(tmp_path_factory).path
    stopped = key_workspace(tmp_path_factory, "train.early_stopping_patience")
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    patience = read_params(stopped.path)["train"]["early_stopping_patience"]
    train, val = curve(stopped.path, "train"), curve(stopped.path, "eval")
    best = int(np.argmin(val))
    # `patience` epochs in which the training loss fell below its best-epoch value while the
    # validation loss did not: then it stopped, before the last epoch.
    assert len(val) == best + 1 + patience < read_params(stopped.path)["train"]["epochs"]
    assert all(loss < train[best] for loss in train[best + 1 :])
    # The same epochs as the run without early stopping, as far as they go.
    assert (train, val) == (curve(full, "train")[: len(train)], curve(full, "eval")[: len(val)])
    assert validation_scores(stopped.path)[0] == pytest.approx(val[best], rel=1e-5)  # the best epoch's weights
    assert validation_scores(full)[0] == pytest.approx(curve(full, "eval")[-1], rel=1e-5)  # no stopping, no restoring


def test_early_stopping_on_the_validation_accuracy_keeps_its_first_best_epoch(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stopped = key_workspace(tmp_path_factory, "train.early_stopping_monitor")
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    settings = read_params(stopped.path)["train"]
    assert settings["early_stopping_monitor"] == "val_accuracy"
    accuracy, loss = curve(stopped.path, "eval", "accuracy"), curve(stopped.path, "eval")
    best = int(np.argmax(accuracy))  # the first of equal bests: a tie is no improvement
    assert len(accuracy) == best + 1 + settings["early_stopping_patience"] < settings["epochs"]
    # The validation loss still fell every epoch: watching it would not have stopped here.
    assert all(later < earlier for earlier, later in itertools.pairwise(loss))
    assert validation_scores(stopped.path)[1] == pytest.approx(accuracy[best], abs=1e-6)
