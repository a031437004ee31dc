"""`make study` (tools/study.py on tools/experiments.py): real `dvc exp run`s of a tiny pipeline,
the records it writes, and that it resumes rather than re-runs."""

import json
import sys
from pathlib import Path

import pytest
import yaml
from conftest import dvc, make_dvc_repo, run_cmd, tiny_reviews, write_archive

from pipeline.lib.model import recurrent_params
from tools import experiments, study

SEEDS = 2
ARGS = ["--cells", "gru", "--maxlens", "8", "--seeds", str(SEEDS)]


@pytest.fixture(scope="module")
def studied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed tiny pipeline and the output of its study: gru at maxlen 8 and its two variants."""
    root = tmp_path_factory.mktemp("study")
    repo = make_dvc_repo(root / "repo", write_archive(root / "aclImdb_v1.tar.gz", tiny_reviews()))
    dvc(repo, "repro")
    run_cmd(["git", "add", "-A"], repo)
    run_cmd(["git", "commit", "-qm", "first run"], repo)
    return repo, run_study(repo)


def run_study(repo: Path) -> str:
    result = run_cmd(
        [sys.executable, "-m", "tools.study", *ARGS], repo, PYTHONPATH=str(Path(study.__file__).parents[1])
    )
    return result.stdout


def test_every_configuration_is_a_noise_record_over_its_seeds(studied: tuple[Path, str]) -> None:
    repo, _ = studied
    summary = json.loads((repo / study.SUMMARY).read_text())
    assert [entry["name"] for entry in summary] == ["gru-8", "gru-8-bidirectional", "gru-8-2layers"]
    for entry in summary:
        assert entry["seeds"] == [42, 43]
        assert len(entry["accuracies"]) == SEEDS and entry["mean"] == pytest.approx(sum(entry["accuracies"]) / SEEDS)
        assert "train.seed" not in entry["config"] and entry["config"]["pad.maxlen"] == 8
        assert entry["params"]["model.cell"] == "gru" and entry["params"]["train.early_stopping_patience"] == 2
    assert summary[1]["params"]["model.bidirectional"] is True and summary[2]["params"]["model.layers"] == 2
    runs = json.loads((repo / study.RUNS).read_text())
    assert len(runs) == 3 * SEEDS and all(run["wall_seconds"] > 0 for run in runs)
    # Each run's record is its experiment's: the metrics file at its ref.
    ref = experiments.exp_ref(repo, "study-gru-8-s43")
    assert ref is not None
    recorded = json.loads(run_cmd(["git", "show", f"{ref}:reports/metrics.json"], repo).stdout)
    assert next(r for r in runs if r["name"] == "study-gru-8-s43")["accuracy"] == recorded["accuracy"]
    assert (repo / study.FIGURE).read_bytes().startswith(b"\x89PNG")


def test_a_second_run_runs_nothing_and_a_removed_experiment_comes_from_the_run_cache(
    studied: tuple[Path, str],
) -> None:
    repo, first = studied
    runs = (repo / study.RUNS).read_text()
    again = run_study(repo)
    assert "--- study-" not in again and (repo / study.RUNS).read_text() == runs
    dvc(repo, "exp", "remove", "study-gru-8-s42")
    restored = run_study(repo)
    assert "--- study-gru-8-s42" in restored and "Running stage 'train'" not in restored
    after = {run["name"]: run for run in json.loads((repo / study.RUNS).read_text())}
    before = {run["name"]: run for run in json.loads(runs)}
    assert after["study-gru-8-s42"]["accuracy"] == before["study-gru-8-s42"]["accuracy"]
    assert "Running stage 'train'" in first


def test_the_parameter_table_holds_keras_counts_beside_the_formula(studied: tuple[Path, str]) -> None:
    repo, _ = studied
    summary = json.loads((repo / study.SUMMARY).read_text())
    runs = json.loads((repo / study.RUNS).read_text())
    rows = study.parameter_rows(summary, runs)
    assert [row["layer"] for row in rows] == ["rnn_1", "bidirectional_1", "rnn_1", "rnn_2"]
    for row in rows:
        assert row["keras"] == row["formula_value"] == eval(row["formula"])  # the printed formula computes the count


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("directions", [1, 2])
def test_the_printed_formula_is_the_models_count(cell: str, directions: int) -> None:
    assert eval(study.formula(cell, 16, 32, directions)) == recurrent_params(cell, 16, 32, directions == 2)


def test_values_reach_dvc_as_yaml() -> None:
    values = ("gru", 800, False, [16, 16], 0.5)
    assert [experiments.set_value(v) for v in values] == ["gru", "800", "false", "[16, 16]", "0.5"]


def test_a_run_that_did_not_run_the_studys_params_stops_it() -> None:
    base = {"model.cell": "simple_rnn", "model.units": 16, "train.seed": 42}
    record = {"name": "study-gru-8-s43", "overrides": {"model.cell": "gru", "train.seed": "43"}}
    experiments.ran_as_asked({**record, "params": {**base, "model.cell": "gru", "train.seed": 43}}, base)
    with pytest.raises(SystemExit) as stopped:
        experiments.ran_as_asked(
            {**record, "params": {**base, "model.cell": "gru", "train.seed": 43, "model.units": 32}}, base
        )
    assert str(stopped.value) == (
        "error: study-gru-8-s43 ran with model.units=32, not 16: params.yaml changed after these runs began; "
        "restore it, or `dvc exp remove` the runs and start again"
    )


def test_resuming_after_a_params_edit_stops_rather_than_mixing_configurations(studied: tuple[Path, str]) -> None:
    """The runs on this commit were made with the committed params.yaml; edited, a resumed study
    reads them back and stops on the first, with nothing rewritten."""
    repo, _ = studied
    params = repo / "params.yaml"
    committed, summary = params.read_text(), (repo / study.SUMMARY).read_bytes()
    edited = yaml.safe_load(committed)
    units = edited["model"]["dense_units"]
    edited["model"]["dense_units"] = units + 1
    params.write_text(yaml.safe_dump(edited))
    try:
        result = run_cmd(
            [sys.executable, "-m", "tools.study", *ARGS],
            repo,
            check=False,
            PYTHONPATH=str(Path(study.__file__).parents[1]),
        )
    finally:
        params.write_text(committed)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: study-gru-8-s42 ran with model.dense_units={units}, not {units + 1}: params.yaml changed after these "
        "runs began; "
        "restore it, or `dvc exp remove` the runs and start again"
    )
    assert (repo / study.SUMMARY).read_bytes() == summary
