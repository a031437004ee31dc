"""Stage `evaluate`: score the trained model on the 25,000 test reviews.

Besides the metrics, it tells where the model fails: accuracy by star rating and by review
length before truncation, and the reviews it gets most confidently wrong.
"""

import itertools
import logging

import numpy as np
import pyarrow.parquet as pq

from pipeline.lib import inference, params, paths, score_figures
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import column_at, map_npz, require
from pipeline.lib.labels import FOLDERS, NAMES
from pipeline.lib.metrics import accuracy_by, write_csv, write_scores

log = logging.getLogger("evaluate")

# What this stage reads of params.yaml; dvc.yaml's `params:` lists the same (tests/test_params.py).
PARAMS = ("evaluate",)

LENGTH_EDGES = (50, 100, 150, 200, 300, 400, 600, 1000)  # tokens before truncation
# Reviews go to git-tracked CSVs: a longer one is cut, so that one huge review cannot bloat the
# repository. IMDb's longest test review has 12,988 bytes; 718 of the 25,000 are over 4,000.
MAX_TEXT = 4_000


def excerpt(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else f"{text[:limit]} [... {len(text) - limit:,} more characters]"


def length_names() -> dict[int, str]:
    bounds = itertools.pairwise((0, *LENGTH_EDGES))
    names = {i: f"{low}-{high - 1}" for i, (low, high) in enumerate(bounds)}
    names[len(LENGTH_EDGES)] = f"{LENGTH_EDGES[-1]}+"
    return names


def review_rows(
    indices: np.ndarray, test: dict, proba: np.ndarray, predicted: np.ndarray, texts: dict[int, str]
) -> list[dict]:
    return [
        {
            "id": int(test["id"][i]),
            "stars": int(test["stars"][i]),
            "true": NAMES[int(test["y"][i])],
            "predicted": NAMES[int(predicted[i])],
            "probability": round(float(proba[i]), 4),
            "tokens": int(test["length"][i]),
            "text": excerpt(texts[i]),
        }
        for i in indices
    ]


def most_confident_mistakes(y: np.ndarray, proba: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n negatives scored most positive, then the n positives scored most negative."""
    negatives, positives = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    false_pos = negatives[np.argsort(-proba[negatives], kind="stable")][:n]
    false_neg = positives[np.argsort(proba[positives], kind="stable")][:n]
    return np.concatenate([false_pos, false_neg])


def main() -> None:
    settings = params.load(PARAMS)["evaluate"]
    test = map_npz(require(paths.split_file(paths.PADDED, "test", ".npz")))  # x is read as predict goes
    prepared = require(paths.split_file(paths.PREPARED, "test", ".parquet"))
    if not np.array_equal(pq.read_table(prepared, columns=["id"]).column("id").to_numpy(), test["id"]):
        raise PipelineError("data/padded/test.npz and data/prepared/test.parquet disagree: run `dvc repro`")
    # The exported weights through NumPy: Keras' outputs within 1e-5, without TensorFlow's start-up.
    spec, weights = inference.load(require(paths.MODEL_WEIGHTS))
    proba = inference.predict(spec, weights, test["x"])
    y = test["y"].astype(int)
    predicted = (proba >= settings["threshold"]).astype(int)
    correct = predicted == y
    plots = paths.PLOTS / "model"
    scores = write_scores("rnn", paths.METRICS, plots, test["id"], y, proba, settings["threshold"])
    log.info("test: %s", scores)

    # One row per review: the folder names keep the file small.
    write_csv(
        plots / "confusion.csv",
        [{"actual": FOLDERS[a], "predicted": FOLDERS[p]} for a, p in zip(y, predicted, strict=True)],
    )
    write_csv(plots / "stars.csv", accuracy_by(test["stars"], correct, "stars"))
    bins = np.digitize(test["length"], LENGTH_EDGES)
    write_csv(plots / "length.csv", accuracy_by(bins, correct, "tokens", length_names()))

    rng = np.random.default_rng(settings["seed"])
    sample = rng.choice(len(y), min(settings["samples"], len(y)), replace=False)
    mistakes = most_confident_mistakes(y, proba, settings["misclassified"])
    texts = column_at(prepared, "text", [*sample, *mistakes])  # only the reviews listed, not the column
    write_csv(paths.PREDICTIONS, review_rows(np.sort(sample), test, proba, predicted, texts))
    write_csv(paths.MISCLASSIFIED, review_rows(mistakes, test, proba, predicted, texts))
    score_figures.confusion_matrix(y, predicted, list(NAMES), paths.FIGURES / "confusion_matrix.png")
    score_figures.roc(y, proba, paths.FIGURES / "roc.png")


if __name__ == "__main__":
    run(main)
