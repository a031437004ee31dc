"""The tracked report files of the tiny learned pipeline, each read for what it must hold and
recomputed here with scikit-learn and Keras, not with the pipeline's metrics code."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from pipelines import built, read_params
from sklearn import metrics

from pipeline.lib import history_figure, inference, score_figures
from pipeline.lib.backend import keras
from pipeline.lib.files import load_npz
from pipeline.train import split_validation

GRID = np.linspace(0, 1, 101)


def read_csv(path: Path) -> list[dict[str, float]]:
    with path.open(newline="") as f:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(f)]


def tsv(path: Path) -> list[float]:
    with path.open() as f:
        return [float(row[path.stem]) for row in csv.DictReader(f, delimiter="\t")]


@pytest.mark.parametrize("name", ["base", "diverging"])
def test_roc_and_precision_recall_tables_are_the_models_test_curves(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, name: str
) -> None:
    """reports/plots/model/{roc,precision_recall}.csv: scikit-learn's curves of the saved model's
    test probabilities, on the fixed grid (the best precision at recall >= r); on the learned model
    and on one that learned noise, whose curves are not a perfect classifier's step."""
    base = built(tmp_path_factory, name).path
    spec, weights = inference.load(base / "models/model.npz")
    test = load_npz(base / "data/padded/test.npz")
    proba, y = inference.predict(spec, weights, test["x"]), test["y"]
    fpr, tpr, _ = metrics.roc_curve(y, proba)
    roc = read_csv(base / "reports/plots/model/roc.csv")
    assert [row["fpr"] for row in roc] == pytest.approx(GRID)
    assert [row["tpr"] for row in roc] == pytest.approx(np.interp(GRID, fpr, tpr), abs=1e-6)
    precision, recall, _ = metrics.precision_recall_curve(y, proba)
    best = [precision[recall >= r].max() for r in GRID]
    table = read_csv(base / "reports/plots/model/precision_recall.csv")
    assert [row["recall"] for row in table] == pytest.approx(GRID)
    assert [row["precision"] for row in table] == pytest.approx(best, abs=1e-6)

    drawn = tmp_path / "roc.png"  # the figure of those probabilities
    score_figures.roc(y, proba, drawn)
    assert drawn.read_bytes() == (base / "reports/figures/roc.png").read_bytes()


@pytest.mark.parametrize("name", ["base", "train.seed", "train.validation_split"])
def test_the_training_report_is_the_saved_models(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, name: str
) -> None:
    """reports/train: the last epoch's scores are the saved model's on the validation rows that
    params.yaml's seed and fraction hold out (no early stopping here), the curves have one row per
    epoch, the parameter count is the model's; history.png draws those curves; model_summary.txt
    counts the same parameters. Also after a change of the seed or the fraction: the split must
    follow them, not only the weights."""
    base = built(tmp_path_factory, name).path
    settings = read_params(base)["train"]
    report = json.loads((base / "reports/train/metrics.json").read_text())
    curves = {
        f"{split}/{metric}": tsv(base / f"reports/train/plots/metrics/{split}/{metric}.tsv")
        for split in ("train", "eval")
        for metric in ("accuracy", "loss")
    }
    assert {len(values) for values in curves.values()} == {settings["epochs"]}
    assert report["step"] == settings["epochs"] - 1
    assert report["train"] == pytest.approx({m: curves[f"train/{m}"][-1] for m in ("accuracy", "loss")})
    assert report["eval"] == pytest.approx({m: curves[f"eval/{m}"][-1] for m in ("accuracy", "loss")})

    model = keras.saving.load_model(base / "models/model.keras", compile=False)
    data = load_npz(base / "data/padded/train.npz")
    _, x_val, _, y_val = split_validation(data["x"], data["y"], settings["validation_split"], settings["seed"])
    proba = model.predict(x_val, verbose=0).ravel()
    assert report["eval"]["loss"] == pytest.approx(metrics.log_loss(y_val, proba), rel=1e-5)
    assert report["eval"]["accuracy"] == pytest.approx(metrics.accuracy_score(y_val, proba > 0.5))
    assert report["parameters"] == model.count_params()
    # The metrics: DVCLive's summary, a row per split.
    rows = {name: json.loads((base / "reports/train" / name).read_text()) for name in ("train.json", "validation.json")}
    assert rows["train.json"] == {**report["train"], "epochs": settings["epochs"], "parameters": report["parameters"]}
    assert rows["validation.json"] == report["eval"]
    summary = (base / "reports/model_summary.txt").read_text()
    assert f"Total params: {model.count_params():,} " in summary

    history = {name.replace("eval/", "val_").replace("train/", ""): values for name, values in curves.items()}
    drawn = tmp_path / "history.png"
    history_figure.training_history(history, drawn)
    assert drawn.read_bytes() == (base / "reports/figures/history.png").read_bytes()
