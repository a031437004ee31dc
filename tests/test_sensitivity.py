"""Every params.yaml key reaches exactly the outputs tests/pipelines.py's SENSITIVITY table says:
a parameter that one consumer silently ignores leaves an output that should change unchanged.

The table is checked against params.yaml (a key without a row fails), dvc.yaml's `params:`
lists and the keys predict reads; then each key is changed on the tiny learned pipeline and
`dvc repro` must change the bytes of every output the row names and of no output outside them
and what is downstream of them.
"""

import fnmatch
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, ran
from pipelines import (
    SENSITIVITY,
    ancestors,
    built,
    dag,
    dvc_yaml,
    key_workspace,
    output_files,
    owner,
    read_params,
    set_key,
    stage_outputs,
    workspace,
)

from pipeline.lib import inference


def params_keys() -> list[str]:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    return [f"{section}.{key}" for section, values in params.items() for key in values]


def declared_readers(key: str) -> set[str]:
    """The stages whose dvc.yaml `params:` list covers `key` (the key or its section)."""
    section = key.split(".")[0]
    return {
        stage
        for stage, spec in dvc_yaml()["stages"].items()
        if any(entry in (key, section) for entry in spec.get("params", []) if isinstance(entry, str))
    }


def test_every_key_of_params_yaml_has_a_row() -> None:
    assert sorted(SENSITIVITY) == sorted(params_keys())
    for key, row in SENSITIVITY.items():
        assert row.effect in ("outputs", "timing", "refused", "elsewhere"), key
        assert row.effect == "elsewhere" or key in row.change, f"{key}: its row changes other keys only"


def test_the_readers_are_dvc_yamls_params_lists() -> None:
    stages = set(dvc_yaml()["stages"])
    for key, row in SENSITIVITY.items():
        assert set(row.reads) - {"predict"} == declared_readers(key), key
        assert set(row.reads) <= stages | {"predict"}, key


def test_each_stage_that_reads_a_key_has_an_output_it_must_change() -> None:
    """Else the table could not see that stage ignore the key."""
    for key, row in SENSITIVITY.items():
        if row.effect == "outputs":
            owners = {stage for pattern in row.must for stage in pattern_owners(pattern)}
            assert set(row.reads) - {"predict"} <= owners, key


def pattern_owners(pattern: str) -> set[str]:
    """The stages with an output that a `must` pattern matches or lies inside."""
    return {
        stage
        for stage, outs in stage_outputs().items()
        if any(fnmatch.fnmatch(out, pattern) or pattern.startswith(out + "/") for out in outs)
    }


class Recorder(dict):
    """params.load()'s dict, recording every key read (dotted) into `seen`."""

    def __init__(self, values: dict, seen: set[str], prefix: str = "") -> None:
        super().__init__(values)
        self.seen, self.prefix = seen, prefix

    def __getitem__(self, name: str) -> object:
        value = super().__getitem__(name)
        if isinstance(value, dict):
            return Recorder(value, self.seen, f"{self.prefix}{name}.")
        self.seen.add(f"{self.prefix}{name}")
        return value

    def get(self, name: str, default: object = None) -> object:
        try:
            return self[name]
        except KeyError:
            return default


def test_the_keys_predict_reads_are_the_tables(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """predict run in this process on the learned pipeline, its params.load() recording each key read."""
    from pipeline import predict
    from pipeline.lib import params

    base = workspace(tmp_path_factory, "base").path
    seen: set[str] = set()
    load = params.load
    monkeypatch.setattr(params, "load", lambda *args: Recorder(load(*args), seen))
    monkeypatch.chdir(base)
    monkeypatch.setattr(sys, "argv", ["predict", "a wonderful superb film"])
    predict.main()
    assert capsys.readouterr().out.count("\t") == 2  # it classified the review
    assert seen == {key for key, row in SENSITIVITY.items() if "predict" in row.reads}


def changed_files(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def assert_reaches(factory: pytest.TempPathFactory, key: str) -> None:
    row = SENSITIVITY[key]
    changed_ws = key_workspace(factory, key)
    assert changed_ws.returncode == 0, changed_ws.stderr[-3000:]
    before = output_files(built(factory, row.base).path)
    after = output_files(changed_ws.path)
    changed = changed_files(before, after)
    if row.effect == "timing":
        assert changed == set(), f"{key} is listed as timing only, but it changed {sorted(changed)}"
        return
    must = {name for name in before.keys() | after.keys() if any(fnmatch.fnmatch(name, p) for p in row.must)}
    for pattern in row.must:
        assert any(fnmatch.fnmatch(name, pattern) for name in must), f"{key}: no output matches {pattern}"
    assert sorted(must - changed) == [], f"{key} changed {sorted(changed)}, not all it must"
    graph = dag()
    reached = {owner(name) for name in must}
    downstream = {stage for stage in graph if ancestors(graph, stage) & reached}
    may = {name for name in changed if owner(name) in downstream or any(fnmatch.fnmatch(name, p) for p in row.may)}
    assert sorted(changed - must - may) == [], f"{key} changed outputs outside its row"


def keys(*sections: str, effects: tuple[str, ...] = ("outputs", "timing")) -> list[str]:
    return [key for key, row in SENSITIVITY.items() if key.split(".")[0] in sections and row.effect in effects]


# One class per group of sections: xdist (--dist loadscope) spreads classes over its workers.
class TestDataKeys:
    @pytest.mark.parametrize("key", keys("data", "prepare", "encode", "pad"))
    def test_a_change_reaches_exactly_its_row(self, tmp_path_factory: pytest.TempPathFactory, key: str) -> None:
        assert_reaches(tmp_path_factory, key)

    @pytest.mark.parametrize("key", keys("data", "prepare", "encode", "pad", effects=("refused",)))
    def test_a_refused_change_fails_in_the_stage_that_reads_it(
        self, tmp_path_factory: pytest.TempPathFactory, key: str
    ) -> None:
        row = SENSITIVITY[key]
        result = key_workspace(tmp_path_factory, key)
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and row.error in errors[0], result.stderr[-3000:]
        assert ran(result.stdout)[-1] == row.reads[0]


class TestModelKeys:
    @pytest.mark.parametrize("key", keys("embed", "model"))
    def test_a_change_reaches_exactly_its_row(self, tmp_path_factory: pytest.TempPathFactory, key: str) -> None:
        assert_reaches(tmp_path_factory, key)


class TestTrainKeys:
    @pytest.mark.parametrize("key", keys("train"))
    def test_a_change_reaches_exactly_its_row(self, tmp_path_factory: pytest.TempPathFactory, key: str) -> None:
        assert_reaches(tmp_path_factory, key)

    def test_the_seed_reaches_the_initial_weights_as_well_as_the_split(
        self, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        """train.seed has two uses in train, and its row sees the model change if either follows it.
        With steps far too small to move a weight, the embeddings stay as initialised: another seed
        must give others. (tests/test_reports.py checks that the split follows it.)"""

        def still(repo: Path, _root: Path) -> None:
            for key, value in {"train.optimizer": "sgd", "train.learning_rate": 1e-30, "train.epochs": 1}.items():
                set_key(repo, key, value)

        def reseed(repo: Path, _root: Path) -> None:
            set_key(repo, "train.seed", read_params(repo)["train"]["seed"] + 1)

        first = workspace(tmp_path_factory, "still", still, repro=("repro", "train"))
        second = workspace(tmp_path_factory, "still, reseeded", reseed, parent="still", repro=("repro", "train"))
        embeddings = [inference.load(ws.path / "models/model.npz")[1]["0/embeddings"] for ws in (first, second)]
        assert not np.array_equal(*embeddings)

    def test_the_keys_tested_elsewhere_name_an_existing_test(self) -> None:
        for key, row in SENSITIVITY.items():
            if row.effect == "elsewhere":
                path, name = row.error.split("::")
                assert f"def {name}(" in (ROOT / path).read_text(), key


class TestEvaluateKeys:
    @pytest.mark.parametrize("key", keys("evaluate", "baseline"))
    def test_a_change_reaches_exactly_its_row(self, tmp_path_factory: pytest.TempPathFactory, key: str) -> None:
        assert_reaches(tmp_path_factory, key)
