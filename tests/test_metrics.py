"""The scores and plot tables that evaluate and baseline share, against scikit-learn and by hand."""

import csv
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as sk

from pipeline.lib import score_figures
from pipeline.lib.cli import PipelineError
from pipeline.lib.files import fix_zip, load_npz, map_npz, npz_chunks, npz_writer, require, save_npz, write_json
from pipeline.lib.metrics import (
    GRID,
    accuracy_by,
    classification_metrics,
    log_loss,
    precision_recall_table,
    roc_auc,
    roc_curve,
    roc_table,
    write_csv,
    write_scores,
)

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 500)
PROBA = np.clip(Y * 0.3 + RNG.random(500) * 0.7, 0, 1)


def test_classification_metrics_are_scikit_learns() -> None:
    scores = classification_metrics(Y, PROBA, 0.6)
    predicted = (PROBA >= 0.6).astype(int)
    assert scores == {
        "accuracy": round(sk.accuracy_score(Y, predicted), 6),
        "loss": round(sk.log_loss(Y, PROBA.clip(1e-7, 1 - 1e-7)), 6),
        "precision": round(sk.precision_score(Y, predicted), 6),
        "recall": round(sk.recall_score(Y, predicted), 6),
        "f1": round(sk.f1_score(Y, predicted), 6),
        "roc_auc": round(sk.roc_auc_score(Y, PROBA), 6),
    }
    assert classification_metrics(np.ones(4, int), np.full(4, 0.9), 0.5)["accuracy"] == 1.0
    assert np.isnan(classification_metrics(np.ones(4, int), np.full(4, 0.9), 0.5)["roc_auc"])  # one class only


def test_roc_table_on_the_grid() -> None:
    perfect = roc_table(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert [row["fpr"] for row in perfect] == [round(f, 4) for f in GRID]
    assert all(row["tpr"] == 1.0 for row in perfect)
    fpr, tpr, _ = sk.roc_curve(Y, PROBA)
    table = roc_table(Y, PROBA)
    assert table[50]["tpr"] == round(float(np.interp(0.5, fpr, tpr)), 6)
    assert table[0]["fpr"] == 0.0 and table[-1] == {"fpr": 1.0, "tpr": 1.0}


def test_precision_recall_table_keeps_the_best_precision_at_or_beyond_each_recall() -> None:
    y = np.array([1, 0, 1, 0, 1])
    proba = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    table = {row["recall"]: row["precision"] for row in precision_recall_table(y, proba)}
    # ranked: 1 (p 1, r 1/3), 0, 1 (p 2/3, r 2/3), 0, 1 (p 3/5, r 1)
    assert table[0.0] == 1.0 and table[0.33] == 1.0
    assert table[0.34] == round(2 / 3, 6) and table[0.66] == round(2 / 3, 6)
    assert table[0.67] == 0.6 and table[1.0] == 0.6


def test_accuracy_by_group_in_ascending_order() -> None:
    group = np.array([10, 2, 10, 2, 1])
    correct = np.array([True, False, False, False, True])
    assert accuracy_by(group, correct, "stars") == [
        {"stars": 1, "reviews": 1, "accuracy": 1.0},
        {"stars": 2, "reviews": 2, "accuracy": 0.0},
        {"stars": 10, "reviews": 2, "accuracy": 0.5},
    ]
    named = accuracy_by(np.array([0, 1, 1]), np.array([True, True, False]), "tokens", {0: "0-49", 1: "50+"})
    assert [(row["tokens"], row["accuracy"]) for row in named] == [("0-49", 1.0), ("50+", 0.5)]


def test_write_scores_writes_the_metrics_both_curves_the_headline_and_every_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the scores go to paths.MODEL_SCORES, relative to the repository
    ids = np.arange(100, 100 + len(Y))
    scores = write_scores("baseline", tmp_path / "m.json", tmp_path / "plots", ids, Y, PROBA, 0.5)
    assert json.loads((tmp_path / "m.json").read_text()) == scores == classification_metrics(Y, PROBA, 0.5)
    for name in ("roc.csv", "precision_recall.csv"):
        rows = list(csv.DictReader((tmp_path / "plots" / name).open()))
        assert len(rows) == len(GRID)
    headline = list(csv.DictReader((tmp_path / "plots/headline.csv").open()))
    assert [(row["model"], row["metric"]) for row in headline] == [
        ("baseline", "accuracy"),
        ("baseline", "f1"),
        ("baseline", "roc_auc"),
    ]
    assert all(float(row["value"]) == scores[row["metric"]] for row in headline)
    assert all(float(row["low"]) <= float(row["value"]) <= float(row["high"]) for row in headline)
    written = (tmp_path / "data/scores/baseline.csv").read_text().splitlines()
    assert written[0] == "id,label,probability"
    assert [tuple(map(float, line.split(","))) for line in written[1:]] == list(zip(ids, Y, PROBA, strict=True))
    write_csv(tmp_path / "t.csv", [{"a": 1, "b": "x, y"}])
    assert (tmp_path / "t.csv").read_bytes() == b'a,b\r\n1,"x, y"\r\n'


def test_npz_and_zip_bytes_depend_on_the_contents_alone(tmp_path: Path) -> None:
    arrays = {"x": np.arange(12, dtype=np.int32).reshape(3, 4), "y": np.array([1, 0, 1], np.int8)}
    save_npz(tmp_path / "spec.npz", spec=np.array('{"layers": []}'))  # a 0-d entry stays 0-d (model.npz's spec)
    assert load_npz(tmp_path / "spec.npz")["spec"].shape == ()
    save_npz(tmp_path / "a.npz", **arrays)
    save_npz(tmp_path / "b.npz", **arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = load_npz(tmp_path / "a.npz")
    assert set(loaded) == {"x", "y"} and all(np.array_equal(loaded[k], v) for k, v in arrays.items())

    # Streamed chunk by chunk, the same bytes; memory-mapped or read in pieces, the same arrays.
    with npz_writer(tmp_path / "s.npz") as npz:
        npz.write_chunks("x", np.int32, (3, 4), [arrays["x"][:1], arrays["x"][1:]])
        npz.write("y", arrays["y"])
    assert (tmp_path / "s.npz").read_bytes() == (tmp_path / "a.npz").read_bytes()
    mapped = map_npz(tmp_path / "a.npz")
    assert all(np.array_equal(mapped[k], v) and isinstance(mapped[k], np.memmap) for k, v in arrays.items())
    pieces = list(npz_chunks(tmp_path / "a.npz", "x", [5, 0, 7]))
    assert [p.tolist() for p in pieces] == [[0, 1, 2, 3, 4], [], [5, 6, 7, 8, 9, 10, 11]]
    with pytest.raises(PipelineError, match="x is shorter than its offsets say"):
        list(npz_chunks(tmp_path / "a.npz", "x", [13]))
    with pytest.raises(ValueError, match="chunks hold"), npz_writer(tmp_path / "short.npz") as npz:
        npz.write_chunks("x", np.int32, (3, 4), [arrays["x"][:2]])
    assert not (tmp_path / "short.npz").exists()

    for name in ("c.zip", "d.zip"):
        with zipfile.ZipFile(tmp_path / name, "w") as zf:  # the current time in every entry
            zf.writestr("data.json", "{}")
        fix_zip(tmp_path / name, lambda entry, data: data + b"\n" if entry == "data.json" else data)
    assert (tmp_path / "c.zip").read_bytes() == (tmp_path / "d.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "c.zip") as zf:
        assert zf.read("data.json") == b"{}\n" and zf.infolist()[0].date_time == (1980, 1, 1, 0, 0, 0)


@pytest.mark.parametrize("threshold", [0.3, 0.7])
def test_threshold_decides_the_labels(threshold: float) -> None:
    scores = classification_metrics(np.array([0, 1]), np.array([0.5, 0.5]), threshold)
    assert scores["recall"] == (1.0 if threshold < 0.5 else 0.0)


def test_the_edges_of_the_scores() -> None:
    scores = classification_metrics(np.array([1, 0, 1]), np.array([0.0, 0.0, 0.5]), 0.5)
    assert scores["recall"] == 0.5 and scores["precision"] == 1.0  # 0.5 >= 0.5 is positive
    assert scores["loss"] == round(-(np.log(1e-7) + np.log(1 - 1e-7) + np.log(0.5)) / 3, 6)  # clipped at 1e-7
    none = classification_metrics(np.array([0, 1]), np.array([0.1, 0.2]), 0.5)
    assert (none["precision"], none["recall"], none["f1"]) == (0.0, 0.0, 0.0)  # no warning, no NaN
    third = accuracy_by(np.array([1, 1, 1]), np.array([True, False, False]), "stars")
    assert third == [{"stars": 1, "reviews": 3, "accuracy": 0.333333}]
    table = roc_table(np.array([0, 1, 0, 1]), np.array([0.2, 0.6, 0.7, 0.9]))
    assert (table[30]["tpr"], table[60]["tpr"]) == (0.5, 1.0)  # the curve, not a constant


def test_confident_mistakes_are_clipped_and_empty_classes_score_zero(tmp_path: Path) -> None:
    sure_and_wrong = classification_metrics(np.array([0, 1]), np.array([1.0, 1.0]), 0.5)
    assert sure_and_wrong["loss"] == round(-(np.log(1e-7) + np.log(1 - 1e-7)) / 2, 6)
    no_positives = classification_metrics(np.array([0, 0]), np.array([0.1, 0.2]), 0.5)
    assert (no_positives["recall"], no_positives["f1"]) == (0.0, 0.0)
    write_csv(tmp_path / "empty.csv", [])
    assert (tmp_path / "empty.csv").read_bytes() == b"\r\n"


def test_json_is_indented_and_keeps_non_ascii(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", {"word": "café", "n": [1]})
    assert (tmp_path / "a.json").read_bytes() == '{\n  "word": "café",\n  "n": [\n    1\n  ]\n}\n'.encode()


def test_npz_entries_carry_the_fixed_date_and_no_pickles(tmp_path: Path) -> None:
    save_npz(tmp_path / "a.npz", x=np.arange(3))
    with zipfile.ZipFile(tmp_path / "a.npz") as zf:
        assert [info.date_time for info in zf.infolist()] == [(1980, 1, 1, 0, 0, 0)]
    with pytest.raises(ValueError, match="allow_pickle"):
        save_npz(tmp_path / "b.npz", x=np.array([{"a": 1}], dtype=object))


def test_a_missing_input_names_itself(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as error:
        require(tmp_path / "absent.npz")
    assert str(error.value) == f"{tmp_path / 'absent.npz'}: not found; run `dvc repro` to build it"
    assert require(tmp_path) == tmp_path


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_curves_and_loss_are_scikit_learns_to_the_last_bit(dtype: type) -> None:
    """The metrics files keep their bytes only if every float is the one scikit-learn computed."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 3000)
    for proba in (np.clip(y * 0.3 + rng.random(3000) * 0.7, 0, 1), np.round(rng.random(3000), 2)):  # ties too
        proba = proba.astype(dtype)
        fpr, tpr, _ = sk.roc_curve(y, proba)
        ours = roc_curve(y, proba)
        assert np.array_equal(ours[0], fpr) and np.array_equal(ours[1], tpr)
        assert roc_auc(y, proba) == sk.roc_auc_score(y, proba)
        clipped = proba.clip(1e-7, 1 - 1e-7)
        assert log_loss(y, clipped) == sk.log_loss(y, clipped)
        precision, recall, _ = sk.precision_recall_curve(y, proba)
        best = np.maximum.accumulate(precision)
        expected = [round(float(best[recall >= r][-1]), 6) for r in GRID]
        assert [row["precision"] for row in precision_recall_table(y, proba)] == expected


def test_figures_are_the_pixels_of_scikit_learns_displays(tmp_path: Path) -> None:
    """evaluate draws without importing scikit-learn; these are the calls its Display classes make."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay

    predicted = (PROBA >= 0.5).astype(int)
    score_figures.confusion_matrix(Y, predicted, ["negative", "positive"], tmp_path / "ours_cm.png")
    score_figures.roc(Y, PROBA, tmp_path / "ours_roc.png")
    for name, size, draw, title in (
        (
            "cm",
            (5, 4.5),
            lambda ax: ConfusionMatrixDisplay.from_predictions(
                Y, predicted, display_labels=["negative", "positive"], ax=ax, colorbar=False
            ),
            "Confusion matrix (test)",
        ),
        (
            "roc",
            (5, 4.5),
            lambda ax: RocCurveDisplay(  # through the plot table's points, as evaluate draws it
                fpr=np.array([row["fpr"] for row in roc_table(Y, PROBA)]),
                tpr=np.array([row["tpr"] for row in roc_table(Y, PROBA)]),
                roc_auc=sk.roc_auc_score(Y, PROBA),
                name="RNN",
                pos_label=1,
            ).plot(ax=ax, plot_chance_level=True),
            "ROC (test)",
        ),
    ):
        figure, ax = plt.subplots(figsize=size)
        draw(ax)
        ax.set_title(title)
        figure.tight_layout()
        figure.savefig(tmp_path / f"sk_{name}.png", format="png", dpi=100, metadata={"Software": None})
        plt.close(figure)
        assert (tmp_path / f"ours_{name}.png").read_bytes() == (tmp_path / f"sk_{name}.png").read_bytes(), name
