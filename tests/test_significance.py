"""pipeline.lib.significance and compare's verdict rules, on constructed scores with known answers."""

import json
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar

from pipeline import compare
from pipeline.lib import metrics, significance
from pipeline.lib.cli import PipelineError


def pairs(both: int, only_a: int, only_b: int, neither: int) -> tuple[np.ndarray, np.ndarray]:
    """Right/wrong of two models over reviews with these cell counts."""
    a = np.r_[np.ones(both + only_a), np.zeros(only_b + neither)].astype(bool)
    b = np.r_[np.ones(both), np.zeros(only_a), np.ones(only_b), np.zeros(neither)].astype(bool)
    return a, b


def test_identical_models_differ_by_nothing() -> None:
    rng = np.random.default_rng(0)
    right = rng.random(500) < 0.8
    result = significance.paired(right, right)
    assert result["p"] == 1.0
    assert result["difference"] == 0.0 and result["difference_interval"] == (0.0, 0.0)
    assert result["a_interval"] == result["b_interval"]
    assert compare.verdict(result, band=None) == compare.TEST_NOISE


def test_a_large_shift_is_real() -> None:
    a, b = pairs(both=450, only_a=10, only_b=190, neither=350)  # 0.46 against 0.64 on 1,000 reviews
    result = significance.paired(a, b)
    assert result["difference"] == pytest.approx(0.18)
    low, high = result["difference_interval"]
    assert 0.14 < low < 0.18 < high < 0.22
    assert result["p"] < 1e-30
    assert compare.verdict(result, band=None) == compare.REAL
    assert compare.verdict(result, band=0.05) == compare.REAL
    assert compare.verdict(result, band=0.2) == compare.SEED_NOISE


def test_a_small_shift_on_few_reviews_is_test_set_noise() -> None:
    a, b = pairs(both=70, only_a=4, only_b=8, neither=18)
    result = significance.paired(a, b)
    assert result["difference"] == pytest.approx(0.04)
    assert result["difference_interval"][0] < 0 < result["difference_interval"][1]
    assert result["p"] > 0.05
    assert compare.verdict(result, band=None) == compare.TEST_NOISE


def test_the_p_value_alone_can_call_noise() -> None:
    """An interval that misses 0 with p >= 0.05 is still test-set noise (the rules' first line)."""
    result = {"difference": 0.02, "difference_interval": (0.001, 0.04), "p": 0.06}
    assert compare.verdict(result, band=None) == compare.TEST_NOISE
    assert compare.verdict({**result, "p": 0.04}, band=None) == compare.REAL


@pytest.mark.parametrize("seed", range(20))
def test_mcnemar_p_equals_statsmodels_exact_test(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, [400, 60, 60, 200])
    a, b = pairs(*cells)
    rng.shuffle(order := np.arange(len(a)))
    table = [[cells[0], cells[1]], [cells[2], cells[3]]]  # rows: A right, A wrong; columns: B right, B wrong
    expected = mcnemar(table, exact=True).pvalue
    assert significance.mcnemar_p(a[order], b[order]) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_intervals_are_deterministic_and_hold_the_estimate() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 2_000)
    proba = np.clip(0.35 * y + 0.65 * rng.random(2_000), 0, 1).astype(np.float32)
    scores = metrics.classification_metrics(y, proba, 0.5)
    rows = significance.headline("rnn", y, proba, 0.5, scores)
    assert rows == significance.headline("rnn", y, proba, 0.5, scores)
    assert [(row["model"], row["metric"]) for row in rows] == [("rnn", "accuracy"), ("rnn", "f1"), ("rnn", "roc_auc")]
    for row in rows:
        assert row["low"] < row["value"] < row["high"], row
    # The bootstrap's width for an accuracy is the binomial one: 2 * 1.96 * sqrt(p (1 - p) / n).
    accuracy = rows[0]
    expected = 2 * 1.96 * np.sqrt(accuracy["value"] * (1 - accuracy["value"]) / len(y))
    assert accuracy["high"] - accuracy["low"] == pytest.approx(expected, rel=0.1)


def test_the_redrawn_auc_is_the_area_under_the_curve() -> None:
    """With ties: the redraws' ROC AUC centres on metrics.roc_auc, and one perfect ranking stays 1."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 3_000)
    proba = np.round(np.clip(0.3 * y + 0.7 * rng.random(3_000), 0, 1), 2)  # many ties
    low, high = significance.roc_auc_interval(y, proba)
    auc = metrics.roc_auc(y, proba)
    assert low < auc < high and high - low < 0.05
    assert significance.roc_auc_interval(y, y.astype(float)) == (1.0, 1.0)


def test_seed_band_borrows_the_missing_sd() -> None:
    study = {"sd": 0.01, "seeds": [1, 2, 3]}
    assert compare.seed_band(None, None) is None
    assert compare.seed_band(study, None) == compare.seed_band(None, study) == pytest.approx(1.96 * np.sqrt(2) * 0.01)
    assert compare.seed_band(study, {"sd": 0.02}) == pytest.approx(1.96 * np.hypot(0.01, 0.02))


def test_a_study_matches_its_configuration_whatever_the_seed() -> None:
    params = {"model": {"cell": "gru", "units": [16, 16]}, "train": {"seed": 42, "epochs": 10}}
    record = {"config": {"model.cell": "gru", "model.units": [16, 16], "train.epochs": 10}, "seeds": [1, 2], "sd": 0.1}
    assert compare.seed_sd(params, [record]) is record
    assert compare.seed_sd({**params, "train": {"seed": 7, "epochs": 10}}, [record]) is record
    assert compare.seed_sd({**params, "train": {"seed": 42, "epochs": 11}}, [record]) is None


def test_the_study_with_the_most_seeds_is_used() -> None:
    config = {"train.epochs": 10}
    small = {"config": config, "seeds": [1, 2], "sd": 0.1}
    large = {"config": config, "seeds": [1, 2, 3, 4, 5], "sd": 0.02}
    single = {"config": config, "seeds": [1], "sd": float("nan")}  # no spread from one seed
    assert compare.seed_sd({"train": {"epochs": 10, "seed": 3}}, [small, large, single]) is large
    assert compare.seed_sd({"train": {"epochs": 10}}, [single]) is None


def test_seed_records_come_from_both_files(tmp_path: Path) -> None:
    record = {"name": "x", "params": {}, "config": {}, "seeds": [1, 2], "accuracies": [0.5, 0.6], "mean": 0.55}
    seeds, study = tmp_path / "seeds.json", tmp_path / "summary.json"
    seeds.write_text(json.dumps([{**record, "sd": 0.1}]))
    assert compare.seed_records((seeds, study)) == [{**record, "sd": 0.1}]  # a missing file is no study
    study.write_text(json.dumps([{**record, "sd": 0.2}]))
    assert [r["sd"] for r in compare.seed_records((seeds, study))] == [0.1, 0.2]
    study.write_text("[{")
    with pytest.raises(PipelineError, match=f"^{study}: not valid JSON"):
        compare.seed_records((seeds, study))
    study.write_text(json.dumps([record]))  # no sd
    with pytest.raises(PipelineError, match=f"^{study}: expected a list of seed records with keys"):
        compare.seed_records((seeds, study))


def test_different_test_sets_cannot_be_paired() -> None:
    def revision(name: str, ids: list[int]) -> compare.Revision:
        scores = {"id": np.array(ids), "label": np.array([1, 0, 1]), "probability": np.array([0.9, 0.2, 0.6])}
        return compare.Revision(name, {"evaluate": {"threshold": 0.5}}, {"rnn": scores, "baseline": scores})

    rows = compare.compare(revision("a", [1, 2, 3]), revision("b", [1, 2, 3]), [])
    assert [row["verdict"] for row in rows] == [compare.TEST_NOISE, compare.TEST_NOISE]
    with pytest.raises(PipelineError, match=r"^rnn: a and b scored different test reviews"):
        compare.compare(revision("a", [1, 2, 3]), revision("b", [1, 2, 4]), [])


def test_pairing_narrows_the_difference() -> None:
    """Two models right on mostly the same reviews: B - A is known far better than either accuracy."""
    a, b = pairs(both=800, only_a=5, only_b=25, neither=170)
    result = significance.paired(a, b)
    width = result["difference_interval"][1] - result["difference_interval"][0]
    assert width < 0.5 * (result["a_interval"][1] - result["a_interval"][0])
    assert compare.verdict(result, band=None) == compare.REAL
