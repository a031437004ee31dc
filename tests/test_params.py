"""params.yaml is validated before any heavy work; each error names the key and what is allowed."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from pipeline.lib import params
from pipeline.lib.cli import PipelineError

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def test_committed_defaults_are_valid_and_the_tutorials() -> None:
    p = params.load(ROOT / "params.yaml")
    assert p["tokenize"]["num_words"] == 2000 and p["pad"]["maxlen"] == 100
    assert p["model"]["cell"] == "simple_rnn" and p["model"]["units"] == 16
    assert (p["train"]["batch_size"], p["train"]["epochs"], p["train"]["validation_split"]) == (100, 10, 0.2)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("tokenize", "num_words", 1, r"tokenize.num_words = 1 is invalid: expected an integer >= 2"),
        ("tokenize", "num_words", "2000", r"tokenize.num_words = '2000' is invalid"),
        ("pad", "maxlen", 0, r"pad.maxlen = 0 is invalid: expected an integer >= 1"),
        ("pad", "padding", "middle", r"pad.padding = 'middle' is invalid: expected one of pre, post"),
        ("pad", "truncating", None, r"pad.truncating = None is invalid"),
        (
            "train",
            "validation_split",
            0,
            r"train.validation_split = 0 is invalid: expected a number in \(0, 1\)",
        ),
        ("train", "validation_split", 1.0, r"train.validation_split = 1.0 is invalid"),
        ("train", "epochs", 0, r"train.epochs = 0 is invalid: expected an integer >= 1"),
        ("train", "epochs", True, r"train.epochs = True is invalid"),
        ("train", "optimizer", "adagrad", r"train.optimizer = 'adagrad' is invalid: expected one of adam"),
        (
            "train",
            "distribute",
            "horovod",
            r"train.distribute = 'horovod' is invalid: expected one of none, mirrored, multi_worker$",
        ),
        ("train", "workers", 0, r"train.workers = 0 is invalid: expected an integer >= 1"),
        (
            "model",
            "cell",
            "transformer",
            r"model.cell = 'transformer' is invalid: expected one of simple_rnn, lstm, gru",
        ),
        ("model", "bidirectional", "yes", r"model.bidirectional = 'yes' is invalid: expected true or false"),
        ("model", "units", [16, 0], r"model.units = \[16, 0\] is invalid"),
        (
            "model",
            "embedding_dropout",
            1.0,
            r"model.embedding_dropout = 1.0 is invalid: expected a number in \[0, 1\)",
        ),
        ("data", "sha256", "abc", r"data.sha256 = 'abc' is invalid: expected 64 hex digits"),
    ],
)
def test_bad_values_name_the_key(section: str, key: str, value: object, message: str) -> None:
    bad = copy.deepcopy(DEFAULTS)
    bad[section][key] = value
    with pytest.raises(PipelineError, match=message):
        params.validate(bad)


def test_a_renamed_key_is_named_with_the_closest_known_one() -> None:
    renamed = copy.deepcopy(DEFAULTS)
    renamed["train"]["epoch"] = renamed["train"].pop("epochs")  # the real key is now missing too
    with pytest.raises(PipelineError, match=r"^params.yaml: unknown key train.epoch: did you mean train.epochs\?$"):
        params.validate(renamed)
    unlike = copy.deepcopy(DEFAULTS)
    unlike["train"]["favourite_colour"] = "red"
    with pytest.raises(PipelineError, match=r"key train.favourite_colour: known: train.optimizer, .*train.epochs"):
        params.validate(unlike)
    section = copy.deepcopy(DEFAULTS)
    section["trian"] = {}
    with pytest.raises(PipelineError, match=r"unknown section 'trian': did you mean train\?"):
        params.validate(section)


def test_missing_key() -> None:
    bad = copy.deepcopy(DEFAULTS)
    del bad["pad"]["maxlen"]
    with pytest.raises(PipelineError, match=r"pad.maxlen is missing"):
        params.validate(bad)


def test_units_per_layer_must_match_layers() -> None:
    bad = copy.deepcopy(DEFAULTS)
    bad["model"].update(layers=3, units=[32, 16])
    with pytest.raises(PipelineError, match=r"model.units lists 2 sizes but model.layers = 3"):
        params.validate(bad)
    bad["model"]["units"] = [32, 16, 8]
    assert params.layer_units(params.validate(bad)["model"]) == [32, 16, 8]


def test_more_than_one_worker_needs_multi_worker_and_a_batch_to_share() -> None:
    bad = copy.deepcopy(DEFAULTS)
    bad["train"]["workers"] = 2
    with pytest.raises(PipelineError, match=r"train.workers = 2 with train.distribute = none: more than one"):
        params.validate(bad)
    bad["train"].update(distribute="multi_worker", batch_size=1)
    with pytest.raises(PipelineError, match=r"train.batch_size = 1 is smaller than train.workers = 2: "):
        params.validate(bad)
    bad["train"]["batch_size"] = 2
    params.validate(bad)


def test_unroll_only_for_short_sequences() -> None:
    bad = copy.deepcopy(DEFAULTS)
    bad["pad"]["maxlen"] = 800
    with pytest.raises(PipelineError, match=r"model.unroll = true with pad.maxlen = 800: .*set model.unroll: false"):
        params.validate(bad)
    bad["model"]["unroll"] = False
    params.validate(bad)


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    broken = tmp_path / "params.yaml"
    broken.write_text("train:\n  epochs: [1\n  seed: 3\n")
    with pytest.raises(PipelineError, match=rf"{broken}: invalid YAML at line \d+, column \d+"):
        params.load(broken)


def test_stage_exits_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    bad = copy.deepcopy(DEFAULTS)
    bad["pad"]["maxlen"] = -5
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(bad))
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.pad"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr == "error: params.yaml: pad.maxlen = -5 is invalid: expected an integer >= 1\n"
    debug = subprocess.run(
        [sys.executable, "-m", "pipeline.pad"],
        cwd=tmp_path,
        env={**env, "PIPELINE_DEBUG": "1"},
        capture_output=True,
        text=True,
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr
