"""The answers mean something: on reviews whose sentiment words are separable, both models
learn them, predict keeps the sign, and every reported number is the saved model's own."""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import dvc, make_dvc_repo, run_cmd, tiny_reviews, write_archive
from sklearn import metrics

PER_FOLDER = 60


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real pipeline on 120 + 120 reviews, trained long enough to learn the sentiment words."""
    root = tmp_path_factory.mktemp("meaning")
    archive = write_archive(root / "aclImdb_v1.tar.gz", tiny_reviews(PER_FOLDER))
    repo = make_dvc_repo(root / "repo", archive)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["model"].update(units=8, embedding_dim=8, dense_units=16)
    params["train"].update(epochs=8, batch_size=16, learning_rate=0.01)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc(repo, "repro")
    return repo


def scores(repo: Path, name: str) -> dict[str, float]:
    return json.loads((repo / "reports" / name).read_text())


def test_the_rnn_and_the_baseline_both_learn_the_sentiment_words(learned: Path) -> None:
    assert scores(learned, "metrics.json")["accuracy"] >= 0.9
    assert scores(learned, "baseline_metrics.json")["accuracy"] >= 0.9
    assert scores(learned, "metrics.json")["roc_auc"] >= 0.95


def test_reported_metrics_are_the_saved_models_own(learned: Path) -> None:
    """Recomputed with scikit-learn from the saved model's predictions, not through pipeline code."""
    import keras

    test = np.load(learned / "data/padded/test.npz")
    model = keras.saving.load_model(learned / "models/model.keras", compile=False)
    proba = model.predict(test["x"], verbose=0).ravel()
    y, predicted = test["y"], (proba >= 0.5).astype(int)
    expected = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "loss": metrics.log_loss(y, np.clip(proba, 1e-7, 1 - 1e-7)),
        "precision": metrics.precision_score(y, predicted),
        "recall": metrics.recall_score(y, predicted),
        "f1": metrics.f1_score(y, predicted),
        "roc_auc": metrics.roc_auc_score(y, proba),
    }
    reported = scores(learned, "metrics.json")
    assert reported == pytest.approx(expected, abs=2e-6)
    rows = list(csv.DictReader((learned / "reports/plots/model/confusion.csv").open()))
    assert [row["actual"] for row in rows] == [("neg", "pos")[label] for label in y]
    assert [row["predicted"] for row in rows] == [("neg", "pos")[label] for label in predicted]


def predict(repo: Path, *reviews: str) -> list[list[str]]:
    """One review per stdin line, one output row each."""
    out = run_cmd([sys.executable, "-m", "pipeline.predict"], repo, stdin="\n".join(reviews) + "\n").stdout
    return [line.split("\t") for line in out.splitlines()]


def test_predict_keeps_the_sign_of_unseen_reviews(learned: Path) -> None:
    """New sentences, as long as the training reviews (the model has never seen padding)."""
    positive = (
        "The acting was wonderful and the story superb: a brilliant, moving and delightful masterpiece."
        " I loved this great film, a great and wonderful, superb movie."
    )
    negative = (
        "The acting was awful and the story boring: a dreadful, dull and terrible waste."
        " I hated this awful film, the worst and most boring, dull movie."
    )
    (pos_label, pos_proba, _), (neg_label, neg_proba, _) = predict(learned, positive, negative)
    assert (pos_label, neg_label) == ("positive", "negative")
    assert float(pos_proba) > 0.8 and float(neg_proba) < 0.2


def test_predict_gives_evaluate_the_same_probability(learned: Path) -> None:
    """The raw review from the archive, through predict, against evaluate's row for that review."""
    members = tiny_reviews(PER_FOLDER)
    rows = list(csv.DictReader((learned / "reports/predictions.csv").open()))
    assert len(rows) == 3
    for row in rows:
        folder = "pos" if row["true"] == "positive" else "neg"
        name = next(n for n in members if n.startswith(f"aclImdb/test/{folder}/{row['id']}_"))
        review = " ".join(members[name].decode().split())  # one line: predict flattens newlines anyway
        ((label, proba, _),) = predict(learned, review)
        assert (label, proba) == (row["predicted"], f"{float(row['probability']):.4f}")


def test_predict_cleans_reviews_as_the_pipeline_does(learned: Path, tmp_path: Path) -> None:
    """Tags go, entities are decoded: a tag whose name is a sentiment word changes nothing."""
    raw = "The acting was <awful>superb</awful> &amp; the story <i class='dull'>wonderful</i>, a great film."
    clean = "The acting was  superb  & the story  wonderful , a great film."
    reviews = tmp_path / "reviews.txt"
    reviews.write_text(f"{raw}\n\n{clean}\n")
    (raw_row, blank_row, clean_row) = [
        line.split("\t")
        for line in run_cmd(
            [sys.executable, "-m", "pipeline.predict", "--file", str(reviews)], learned
        ).stdout.splitlines()
    ]
    assert raw_row[:2] == clean_row[:2]
    assert blank_row == ["-", "-", ""]  # blank lines are reported, so rows line up with lines
    assert raw_row[2].startswith("The acting was <awful>superb</awful>")
