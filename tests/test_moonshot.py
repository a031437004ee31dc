"""`make moonshot` (tools/moonshot.py): real `dvc exp run`s of the moonshot's configuration on a
tiny pipeline, the record it writes, and the answers it gives on the hand-written reviews."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import commit, dvc, make_dvc_repo, run_cmd, tiny_reviews, write_archive

from pipeline import compare
from pipeline.lib import paths
from tools import experiments, moonshot

SHRUNK = ["pad.maxlen=20", "train.epochs=1"]  # the moonshot's model, on the tiny pipeline's scale


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed tiny pipeline and the output of `python -m tools.moonshot` over 2 seeds."""
    root = tmp_path_factory.mktemp("moonshot")
    repo = make_dvc_repo(root / "repo", write_archive(root / "aclImdb_v1.tar.gz", tiny_reviews()))
    dvc(repo, "repro")
    commit(repo, "first run")
    output = run_cmd(
        [sys.executable, "-m", "tools.moonshot", "--seeds", "2", "--settings", *SHRUNK],
        repo,
        PYTHONPATH=str(Path(moonshot.__file__).parents[1]),
    ).stdout
    return repo, output


def test_the_record_is_the_experiments_over_their_seeds(shot: tuple[Path, str]) -> None:
    repo, output = shot
    (record,) = json.loads((repo / paths.MOONSHOT).read_text())
    assert record["seeds"] == [42, 43] and record["command"] == "make moonshot"
    for seed, accuracy in zip(record["seeds"], record["accuracies"], strict=True):
        ref = experiments.exp_ref(repo, f"moonshot-s{seed}")
        assert ref is not None
        assert accuracy == json.loads(experiments.show(repo, ref, paths.METRICS))["accuracy"]
        assert f"train.seed={seed}: test accuracy {accuracy:.4f}" in output
    assert record["mean"] == pytest.approx(sum(record["accuracies"]) / 2)
    baseline = json.loads((repo / paths.BASELINE_METRICS).read_text())["accuracy"]
    assert record["baseline_accuracy"] == baseline
    # Its params: the moonshot's keys (and the shrinking) that params.yaml does not already hold.
    base = compare.flatten(yaml.safe_load((repo / paths.PARAMS).read_text()))
    expected = {**moonshot.MOONSHOT, "pad.maxlen": 20, "train.epochs": 1}
    assert record["params"] == {k: v for k, v in expected.items() if base[k] != v}
    assert record["config"] == {k: v for k, v in {**base, **expected}.items() if k != compare.SEED}
    assert record["config"]["model.bidirectional"] is True and record["config"]["model.pooling"] == "max_mean"
    assert "train.seed" not in record["config"] and len(record["wall_seconds"]) == 2


def test_its_answers_are_what_predict_says_of_each_model(shot: tuple[Path, str]) -> None:
    repo, _ = shot
    (record,) = json.loads((repo / paths.MOONSHOT).read_text())
    assert [e["review"] for e in record["examples"]] == moonshot.EXAMPLES
    # The committed model is the workspace's: `python -m pipeline.predict` gives the same numbers.
    reviews = "\n".join(moonshot.EXAMPLES)
    printed = run_cmd([sys.executable, "-m", "pipeline.predict"], repo, stdin=reviews).stdout.splitlines()
    committed = [e["committed"] for e in record["examples"]]
    said = [line.split("\t")[1] for line in printed]  # "-": not classified (NaN, below)
    np.testing.assert_array_equal([np.nan if p == "-" else float(p) for p in said], committed)
    # The first seed's model, as that experiment stored it, and not the committed one.
    first = moonshot.answers(moonshot.model_bytes(repo, experiments.exp_ref(repo, "moonshot-s42")), moonshot.EXAMPLES)
    # (A review with no word of the tiny vocabulary gets NaN from mean pooling over no step, as in Keras.)
    np.testing.assert_array_equal(first, [e["moonshot"] for e in record["examples"]])
    assert not np.array_equal(first, committed, equal_nan=True)


def test_compare_finds_its_seed_noise(shot: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = shot
    monkeypatch.chdir(repo)
    (record,) = json.loads(paths.MOONSHOT.read_text())
    nested: dict = {}
    for key, value in {**record["config"], compare.SEED: 44}.items():
        section, name = key.split(".")
        nested.setdefault(section, {})[name] = value
    assert compare.seed_sd(nested, compare.seed_records()) == record


def test_a_second_run_runs_nothing(shot: tuple[Path, str]) -> None:
    repo, _ = shot
    before = (repo / paths.MOONSHOT).read_text()
    again = run_cmd(
        [sys.executable, "-m", "tools.moonshot", "--seeds", "2", "--settings", *SHRUNK],
        repo,
        PYTHONPATH=str(Path(moonshot.__file__).parents[1]),
    ).stdout
    assert "--- moonshot-" not in again and (repo / paths.MOONSHOT).read_text() == before
