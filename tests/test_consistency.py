"""evaluate's metrics, confusion matrix, plots and review lists, and predict, agree on every review
of the tiny test split: at the default settings, at other pad.padding, pad.truncating and
evaluate.threshold, and with a review's probability exactly at the threshold."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from pipelines import Workspace, built, held_out_reviews, predict_lines, read_params, set_key, workspace
from sklearn import metrics

from pipeline import evaluate
from pipeline.lib import inference, score_figures
from pipeline.lib.labels import FOLDERS, NAMES


def at_a_probability(repo: Path, _root: Path) -> None:
    """evaluate.threshold at exactly the median test review's probability, as evaluate computes it."""
    spec, weights = inference.load(repo / "models/model.npz")
    with np.load(repo / "data/padded/test.npz") as test:
        proba = inference.predict(spec, weights, test["x"])
    set_key(repo, "evaluate.threshold", float(np.sort(proba)[len(proba) // 2]))


def configuration(factory: pytest.TempPathFactory, name: str) -> Workspace:
    """A workspace of the sensitivity table, or one of them with the threshold at a probability."""
    if name.endswith("at a probability"):
        parent = name.removesuffix(" at a probability")
        configuration(factory, parent)
        return workspace(factory, name, at_a_probability, parent=parent)
    return built(factory, name)


CONFIGURATIONS = [
    "base",
    "pad.padding",
    "pad.truncating",
    "evaluate.threshold",
    "base at a probability",
    "pad.truncating at a probability",
]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_evaluate_and_predict_agree_on_every_review(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, name: str
) -> None:
    ws = configuration(tmp_path_factory, name)
    assert ws.returncode == 0, ws.stderr[-3000:]
    repo = ws.path
    reviews = held_out_reviews(repo)
    y = np.array([label for label, *_ in reviews])
    rows = predict_lines(repo, [text for *_, text in reviews])
    labels = np.array([NAMES.index(label.rstrip("?")) for label, _, _ in rows])
    probabilities = [probability for _, probability, _ in rows]

    # Every review: evaluate's own list (evaluate.samples covers them all) and its confusion rows.
    listed = read_csv(repo / "reports/predictions.csv")
    assert [(row["true"], int(row["id"])) for row in listed] == [(NAMES[label], i) for label, i, *_ in reviews]
    assert [row["predicted"] for row in listed] == [NAMES[label] for label in labels]
    assert [f"{float(row['probability']):.4f}" for row in listed] == probabilities
    confusion = read_csv(repo / "reports/plots/model/confusion.csv")
    assert confusion == [{"actual": FOLDERS[a], "predicted": FOLDERS[p]} for a, p in zip(y, labels, strict=True)]
    keyed = {(NAMES[label], i): row for (label, i, *_), row in zip(reviews, rows, strict=True)}
    for row in read_csv(repo / "reports/misclassified.csv"):
        assert [row["predicted"], f"{float(row['probability']):.4f}"] == keyed[row["true"], int(row["id"])][:2]

    scores = json.loads((repo / "reports/metrics.json").read_text())
    expected = {
        "accuracy": metrics.accuracy_score(y, labels),
        "precision": metrics.precision_score(y, labels, zero_division=0),
        "recall": metrics.recall_score(y, labels, zero_division=0),
        "f1": metrics.f1_score(y, labels, zero_division=0),
    }
    assert {key: scores[key] for key in expected} == pytest.approx(expected, abs=1e-6)

    correct = labels == y
    stars = np.array([star for _, _, star, _ in reviews])
    stars_rows = read_csv(repo / "reports/plots/model/stars.csv")
    assert [(int(row["stars"]), int(row["reviews"]), float(row["accuracy"])) for row in stars_rows] == [
        (s, np.sum(stars == s), pytest.approx(correct[stars == s].mean(), abs=1e-6)) for s in np.unique(stars)
    ]
    with np.load(repo / "data/padded/test.npz") as test:
        bins = np.digitize(test["length"], evaluate.LENGTH_EDGES)
    names = evaluate.length_names()
    length_rows = read_csv(repo / "reports/plots/model/length.csv")
    assert [(row["tokens"], float(row["accuracy"])) for row in length_rows] == [
        (names[b], pytest.approx(correct[bins == b].mean(), abs=1e-6)) for b in np.unique(bins)
    ]

    score_figures.confusion_matrix(y, labels, list(NAMES), tmp_path / "confusion_matrix.png")
    assert (tmp_path / "confusion_matrix.png").read_bytes() == (
        repo / "reports/figures/confusion_matrix.png"
    ).read_bytes()

    if name.endswith("at a probability"):  # the review at the threshold is positive, everywhere
        at = read_params(repo)["evaluate"]["threshold"]
        spec, weights = inference.load(repo / "models/model.npz")
        with np.load(repo / "data/padded/test.npz") as test:
            proba = inference.predict(spec, weights, test["x"])
        (on,) = np.flatnonzero(proba == at)[:1]
        assert labels[on] == 1 and confusion[on]["predicted"] == "pos"
