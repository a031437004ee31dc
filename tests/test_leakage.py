"""No leakage: the test split reaches nothing fitted. Changing its texts and labels leaves the
vocabulary, the training arrays, the model and the baseline's fit byte-identical; changing the
training split's changes them (so the comparison can fail)."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import tiny_reviews, write_archive
from pipelines import PER_FOLDER, Workspace, built, output_files, point_at, read_params, workspace
from sklearn import metrics
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression

# Everything fitted on the training split, and what it is fitted on.
FITTED = (
    "data/encoded/vocab.json",
    "data/encoded/train.npz",
    "data/padded/train.npz",
    "models/model.keras",
    "models/model.npz",
    "reports/train/metrics.json",
    "reports/train/train.json",
    "reports/train/validation.json",
    "reports/train/plots/metrics/eval/loss.tsv",
    "reports/train/plots/metrics/train/loss.tsv",
    "reports/model_summary.txt",
    "reports/figures/history.png",
)
NAME = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt")


def altered(split: str) -> dict[str, bytes]:
    """The base archive with one split changed: a third of its positive reviews moved to the
    negatives (so its labels are no longer the other split's, row for row), a third of the rest
    rewritten with words found nowhere else."""
    members = {}
    for name, data in tiny_reviews(PER_FOLDER).items():
        match = NAME.fullmatch(name)
        if match and match[1] == split and match[2] == "pos" and int(match[3]) % 3 == 0:  # relabelled
            members[f"aclImdb/{split}/neg/{1000 + int(match[3])}_1.txt"] = data
        elif match and match[1] == split and int(match[3]) % 3 == 1:  # rewritten
            members[name] = f"zebra quokka {match[2]} narwhal review {match[3]} ".encode() * 3
        else:
            members[name] = data
    return members


def changed(split: str, *repro: str):
    def edit(repo: Path, _root: Path) -> None:
        point_at(repo, write_archive(repo.parent / f"{repo.name}.tar.gz", altered(split)))

    return lambda factory: workspace(factory, f"{split}-split-changed", edit, repro=("repro", *repro))


# --force: every stage re-runs, so a stage that read the test split would show it even where
# dvc.yaml does not list the test split among its deps.
heldout_changed = changed("test", "--force")
training_changed = changed("train")


def digests(ws: Workspace) -> dict[str, str]:
    assert ws.returncode == 0, ws.stderr[-3000:]
    return output_files(ws.path)


def test_the_test_split_reaches_nothing_fitted(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = digests(workspace(tmp_path_factory, "base"))
    other = digests(heldout_changed(tmp_path_factory))
    for name in ("data/prepared/test.parquet", "data/padded/test.npz", "reports/metrics.json"):
        assert other[name] != base[name], f"the change did not reach {name}"
    assert {name: other[name] for name in FITTED} == {name: base[name] for name in FITTED}


def test_the_training_split_reaches_everything_fitted(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = digests(workspace(tmp_path_factory, "base"))
    other = digests(training_changed(tmp_path_factory))
    same = [name for name in FITTED if other[name] == base[name] and name != "reports/model_summary.txt"]
    assert same == []  # the same shapes, so the same summary


def texts_and_labels(repo: Path, split: str) -> tuple[list[str], np.ndarray]:
    table = pq.read_table(repo / f"data/prepared/{split}.parquet", columns=["text", "label"])
    return table.column("text").to_pylist(), table.column("label").to_numpy().astype(int)


FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # Keras Tokenizer's, written out again


def words(text: str) -> list[str]:
    return [word for word in text.lower().translate(str.maketrans(FILTERS, " " * len(FILTERS))).split(" ") if word]


@pytest.mark.parametrize(
    "name",
    ["base", "test split changed", "encode.num_words", "baseline.max_features", "baseline.ngram_max", "baseline.C"],
)
def test_the_baseline_is_fitted_on_the_training_split_alone(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    """reports/baseline_metrics.json and its curves, recomputed with scikit-learn's own vectorizer
    fitted on the training texts only (the stage counts words itself); also after each key the
    baseline reads has changed, which must reach the fit and the test counts alike."""
    ws = heldout_changed(tmp_path_factory) if name == "test split changed" else built(tmp_path_factory, name)
    params = read_params(ws.path)
    settings = params["baseline"]
    vectorizer = CountVectorizer(
        tokenizer=words,
        lowercase=False,
        token_pattern=None,
        ngram_range=(1, settings["ngram_max"]),
        max_features=settings["max_features"] or params["encode"]["num_words"] - 1,
    )
    (train_texts, y_train), (test_texts, y) = (texts_and_labels(ws.path, split) for split in ("train", "test"))
    tfidf = TfidfTransformer(sublinear_tf=True)
    model = LogisticRegression(C=settings["C"], max_iter=1000)
    model.fit(tfidf.fit_transform(vectorizer.fit_transform(train_texts)), y_train)
    proba = model.predict_proba(tfidf.transform(vectorizer.transform(test_texts)))[:, 1]
    predicted = (proba >= params["evaluate"]["threshold"]).astype(int)
    expected = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "loss": metrics.log_loss(y, np.clip(proba, 1e-7, 1 - 1e-7)),
        "precision": metrics.precision_score(y, predicted, zero_division=0),
        "recall": metrics.recall_score(y, predicted, zero_division=0),
        "f1": metrics.f1_score(y, predicted, zero_division=0),
        "roc_auc": metrics.roc_auc_score(y, proba),
    }
    reported = json.loads((ws.path / "reports/baseline_metrics.json").read_text())
    assert reported == pytest.approx(expected, abs=2e-6)
    # Its curves: scikit-learn's, on the fixed grid (precision: the best at recall >= r).
    grid = np.linspace(0, 1, 101)
    fpr, tpr, _ = metrics.roc_curve(y, proba)
    precision, recall, _ = metrics.precision_recall_curve(y, proba)
    curves = {
        "roc.csv": ("fpr", "tpr", np.interp(grid, fpr, tpr)),
        "precision_recall.csv": ("recall", "precision", [precision[recall >= r].max() for r in grid]),
    }
    for name, (x, y_name, values) in curves.items():
        with (ws.path / "reports/plots/baseline" / name).open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [float(row[x]) for row in rows] == pytest.approx(grid), name
        assert [float(row[y_name]) for row in rows] == pytest.approx(values, abs=2e-6), name
