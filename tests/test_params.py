"""params.yaml is validated before any heavy work; each error names the key and what is allowed."""

import ast
import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from tutorial_params import tutorial

from pipeline.lib import params
from pipeline.lib.cli import PipelineError

DEFAULTS = tutorial()  # the tests' starting point, whatever params.yaml holds


def test_the_committed_params_are_valid() -> None:
    """Whatever the user commits, as long as `check` would accept it: its values are theirs."""
    params.load_all(ROOT / "params.yaml")


def test_the_tutorials_setup_is_valid_and_the_tutorials() -> None:
    p = params.validate(tutorial())
    assert p["encode"]["num_words"] == 2000 and p["pad"]["maxlen"] == 100
    assert p["model"]["cell"] == "simple_rnn" and p["model"]["units"] == 16
    assert (p["train"]["batch_size"], p["train"]["epochs"], p["train"]["validation_split"]) == (100, 10, 0.2)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("encode", "num_words", 1, r"encode.num_words = 1 is invalid: expected an integer in \[2, 10000000\]"),
        ("encode", "num_words", "2000", r"encode.num_words = '2000' is invalid"),
        ("pad", "maxlen", 0, r"pad.maxlen = 0 is invalid: expected an integer in \[1, 10000\]"),
        ("pad", "padding", "middle", r"pad.padding = 'middle' is invalid: expected one of pre, post"),
        ("pad", "truncating", None, r"pad.truncating = None is invalid"),
        (
            "train",
            "validation_split",
            0,
            r"train.validation_split = 0 is invalid: expected a number in \(0, 1\)",
        ),
        ("train", "validation_split", 1.0, r"train.validation_split = 1.0 is invalid"),
        ("train", "epochs", 0, r"train.epochs = 0 is invalid: expected an integer in \[1, 10000\]"),
        ("train", "epochs", True, r"train.epochs = True is invalid"),
        ("train", "optimizer", "adagrad", r"train.optimizer = 'adagrad' is invalid: expected one of adam"),
        (
            "train",
            "distribute",
            "horovod",
            r"train.distribute = 'horovod' is invalid: expected one of none, mirrored, multi_worker$",
        ),
        ("train", "workers", 0, r"train.workers = 0 is invalid: expected an integer in \[1, 256\]"),
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
        ("data", "sha256", "abc", r"data.sha256 = 'abc' is invalid: expected 64 lower-case hex digits"),
        ("data", "sha256", "", r"data.sha256 = '' is invalid: expected 64 lower-case hex digits \(sha256sum"),
        (
            "train",
            "seed",
            2**70,
            r"train.seed = 1180591620717411303424 is invalid: expected an integer in \[0, 4294967295\]",
        ),
        ("train", "epochs", 1_000_000, r"train.epochs = 1000000 is invalid: expected an integer in \[1, 10000\]"),
        ("pad", "maxlen", 10**9, r"pad.maxlen = 1000000000 is invalid: expected an integer in \[1, 10000\]"),
        ("encode", "num_words", 10**12, r"encode.num_words = 1000000000000 is invalid"),
        ("model", "units", 10**6, r"model.units = 1000000 is invalid: expected an integer in \[1, 4096\]"),
        (
            "model",
            "pooling",
            "attention",
            r"model.pooling = 'attention' is invalid: expected one of last, max, mean, max_mean$",
        ),
        ("model", "mask_padding", 1, r"model.mask_padding = 1 is invalid: expected true or false$"),
        ("model", "spatial_dropout", 1.0, r"model.spatial_dropout = 1.0 is invalid: expected a number in \[0, 1\)$"),
        ("model", "spatial_dropout", -0.1, r"model.spatial_dropout = -0.1 is invalid"),
        ("model", "recurrent_dropout", "0.2", r"model.recurrent_dropout = '0.2' is invalid: expected a number"),
        ("model", "recurrent_dropout", 1, r"model.recurrent_dropout = 1 is invalid: expected a number in \[0, 1\)$"),
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


def test_masking_a_bidirectional_sequence_needs_the_loop() -> None:
    """Keras' unrolled backward layer zeroes its sequence output by the mask in the wrong order
    (tests/test_inference.py shows it), so that combination is refused before training."""
    bad = copy.deepcopy(DEFAULTS)
    bad["model"].update(mask_padding=True, bidirectional=True, pooling="mean")
    message = (
        r"model.mask_padding = true with model.bidirectional = true and model.unroll = true: .*set model.unroll: false$"
    )
    with pytest.raises(PipelineError, match=message):
        params.validate(bad)
    bad["model"].update(pooling="last", layers=2)
    with pytest.raises(PipelineError, match=message):
        params.validate(bad)
    bad["model"]["layers"] = 1  # its last state alone: right either way
    params.validate(bad)
    bad["model"].update(layers=2, pooling="max", unroll=False)
    params.validate(bad)


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    broken = tmp_path / "params.yaml"
    broken.write_text("train:\n  epochs: [1\n  seed: 3\n")
    with pytest.raises(PipelineError, match=rf"{broken}: invalid YAML at line \d+, column \d+"):
        params.load_all(broken)


def test_an_embedding_too_large_for_memory_is_refused() -> None:
    big = copy.deepcopy(DEFAULTS)
    big["encode"]["num_words"], big["model"]["embedding_dim"] = 1_000_000, 128
    with pytest.raises(PipelineError, match=r"1000000 x 128 = 128,000,000 embedding weights: at most 100,000,000"):
        params.validate(big)
    big["model"]["embedding_dim"] = 100
    params.validate(big)


BILLION_LAUGHS = "".join(  # 10^9 x-es once expanded
    ["lol0: &lol0 [x, x, x, x, x, x, x, x, x, x]\n"]
    + [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 10)}]\n" for i in range(1, 10)]
)
DEFAULTS_TEXT = yaml.safe_dump(DEFAULTS, sort_keys=False)
TRAIN_LINE = DEFAULTS_TEXT.splitlines().index("train:") + 1
HOSTILE = {  # params.yaml text, check's one line
    "alias bomb": (
        BILLION_LAUGHS + DEFAULTS_TEXT,
        r"error: params.yaml: invalid YAML at line 2, column 14: aliases \(\*name\) are not allowed",
    ),
    "duplicate key": (
        DEFAULTS_TEXT.replace("train:\n", "train:\n  seed: 1\n", 1),
        rf"error: params.yaml: invalid YAML at line {TRAIN_LINE + 1 + list(DEFAULTS['train']).index('seed') + 1},"
        r" column 3: duplicate key 'seed'",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_yaml_is_refused_at_once_in_one_line(tmp_path: Path, case: str) -> None:
    text, expected = HOSTILE[case]
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.check"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1 and re.fullmatch(expected, result.stderr.strip()), result.stderr


def test_bytes_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_bytes(DEFAULTS_TEXT.encode() + b"# caf\xe9\n")
    with pytest.raises(PipelineError, match=r"params.yaml: not UTF-8 text \(byte 0xe9 at offset \d+\)$"):
        params.load_all(tmp_path / "params.yaml")


def test_stage_exits_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    bad = copy.deepcopy(DEFAULTS)
    bad["pad"]["maxlen"] = -5
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(bad))
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.pad"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr == "error: params.yaml: pad.maxlen = -5 is invalid: expected an integer in [1, 10000]\n"
    debug = subprocess.run(
        [sys.executable, "-m", "pipeline.pad"],
        cwd=tmp_path,
        env={**env, "PIPELINE_DEBUG": "1"},
        capture_output=True,
        text=True,
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_the_check_stage_records_what_every_key_allows() -> None:
    described = params.describe()
    assert len(described) == 43 and list(described)[:2] == ["data.url", "data.sha256"]
    assert {key: described[key] for key in ("data.timeout", "model.embedding_dropout", "train.distribute")} == {
        "data.timeout": "a number in (0, 3600]",
        "model.embedding_dropout": "a number in [0, 1)",
        "train.distribute": "one of none, mirrored, multi_worker",
    }
    assert described["baseline.max_features"] == "an integer in [1, 10000000], or null"
    assert described["data.sha256"] == "64 lower-case hex digits (sha256sum of the archive)"
    assert described["model.bidirectional"] == described["model.mask_padding"] == "true or false"
    assert described["model.pooling"] == "one of last, max, mean, max_mean"
    assert described["model.spatial_dropout"] == described["model.recurrent_dropout"] == "a number in [0, 1)"
    assert described["data.url"] == "a URL, a file:// URL or a local path"
    assert described["model.units"] == "an integer in [1, 4096], or a list of them (one per layer)"
    assert params.text().allowed == "a string"


RULES = {  # built inside the test, so that a mutated rule builder is what the test sees
    "integer": (lambda: params.integer(2, 10), [2, 3, 10], [1, 11, 2**70, 2.0, True, "2", None]),
    "open number": (lambda: params.number(0, 1), [0.5, 1e-9, 0.999], [0, 1, -1, True, "0.5", None]),
    "closed low": (lambda: params.number(0, 1, open_low=False), [0, 0.0, 0.5], [1, 1.0, -0.1]),
    "closed high": (lambda: params.number(0, 1, open_high=False), [1, 1.0, 0.5], [0, 1.1]),
    "one of": (lambda: params.one_of(("pre", "post")), ["pre", "post"], ["PRE", "", None]),
    "text": (lambda: params.text(), ["", "x"], [1, None, b"x"]),
    "optional": (lambda: params.optional(params.integer(1, 5)), [None, 1, 5], [0, 6, "1"]),
    "boolean": (lambda: params.boolean(), [True, False], [0, 1, "true", None]),
    "sha256": (
        lambda: params.sha256(),
        ["a" * 64, "0123456789abcdef" * 4],
        ["", "A" * 64, "a" * 63, "a" * 65, "g" * 64, None],
    ),
    "optional sha256": (lambda: params.sha256("to skip"), ["", "a" * 64], ["A" * 64, "a" * 63, None]),
    "units": (
        lambda: params.schema()["model"]["units"],
        [1, [1], [16, 8]],
        [0, 4097, [], [16, 0], [16, 4097], [1.5], True, [True], "16"],
    ),
}


@pytest.mark.parametrize("name", RULES)
def test_rules_accept_and_reject_at_their_bounds(name: str) -> None:
    build, accepted, rejected = RULES[name]
    rule = build()
    assert [rule.check(value) for value in accepted] == [True] * len(accepted)
    assert [rule.check(value) for value in rejected] == [False] * len(rejected)


def test_bracket_texts_say_which_ends_are_allowed() -> None:
    assert params.number(0, 1).allowed == "a number in (0, 1)"
    assert params.number(0, 1, open_low=False).allowed == "a number in [0, 1)"
    assert params.number(0, 1, open_high=False).allowed == "a number in (0, 1]"
    assert params.optional(params.integer(1, 5)).allowed == "an integer in [1, 5], or null"


def test_every_documented_minimum_is_valid_and_every_open_end_is_not() -> None:
    low = copy.deepcopy(DEFAULTS)
    low["data"].update(retries=0)
    low["prepare"].update(reviews_per_split=0)
    low["model"].update(embedding_dim=1, dense_units=1, embedding_dropout=0, dense_dropout=0.0, layers=1)
    low["model"].update(spatial_dropout=0, recurrent_dropout=0.0)
    low["train"].update(batch_size=1, seed=0, early_stopping_patience=0, epochs=1)
    low["evaluate"].update(samples=0, misclassified=0, seed=0, threshold=0.999)
    low["baseline"].update(max_features=None, ngram_max=1)
    params.validate(low)
    for section, key, value in [
        ("model", "dense_dropout", 1),
        ("model", "embedding_dropout", 1.0),
        ("model", "spatial_dropout", 1),
        ("model", "recurrent_dropout", 1.0),
        ("evaluate", "threshold", 1),
        ("evaluate", "threshold", 0),
        ("train", "learning_rate", 0),
        ("data", "timeout", 0),
        ("model", "embedding_dim", 0),
        ("model", "dense_units", 0),
        ("train", "batch_size", 0),
        ("data", "retries", -1),
    ]:
        bad = copy.deepcopy(DEFAULTS)
        bad[section][key] = value
        with pytest.raises(PipelineError, match=rf"{section}.{key} = {value!r} is invalid"):
            params.validate(bad)


def test_load_names_the_file_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "my-params.yaml"
    broken.write_text("train:\n  epochs: 3\n  seed: [1\n")
    with pytest.raises(PipelineError) as error:
        params.load_all(broken)
    assert (
        str(error.value) == f"{broken}: invalid YAML at line 4, column 1: expected ',' or ']', but got '<stream end>'"
    )
    broken.write_text("a: b\n\tc: d\n")  # a tab: a scanner error, with its own mark
    with pytest.raises(PipelineError, match=rf"^{broken}: invalid YAML at line 2, column 1: found character '\\t'"):
        params.load_all(broken)
    with pytest.raises(PipelineError) as error:
        params.load_all(tmp_path / "absent.yaml")
    assert str(error.value) == f"{tmp_path / 'absent.yaml'}: not found (run from the repository root)"
    broken.write_text(yaml.safe_dump({**DEFAULTS, "pad": {**DEFAULTS["pad"], "maxlen": 0}}))
    with pytest.raises(PipelineError, match=rf"^{broken}: pad.maxlen = 0 is invalid"):
        params.load_all(broken)  # the file's own name in every message


def test_shapes_that_are_not_sections() -> None:
    with pytest.raises(PipelineError) as error:
        params.validate(["a", "list"])
    assert str(error.value) == "params.yaml: expected a mapping of sections, got list"
    missing = {section: values for section, values in DEFAULTS.items() if section != "pad"}
    with pytest.raises(PipelineError) as error:
        params.validate(copy.deepcopy(missing))
    assert str(error.value) == "params.yaml: section 'pad' is missing or not a mapping"


def test_unroll_is_allowed_up_to_its_limit_and_units_repeat_per_layer() -> None:
    at_limit = copy.deepcopy(DEFAULTS)
    at_limit["pad"]["maxlen"] = params.MAX_UNROLL
    params.validate(at_limit)
    assert params.layer_units({"units": 8, "layers": 3}) == [8, 8, 8]
    assert params.layer_units({"units": [8, 4], "layers": 2}) == [8, 4]
    bad = copy.deepcopy(DEFAULTS)
    bad["model"].update(layers=3, units=[32, 16])
    with pytest.raises(PipelineError) as error:
        params.validate(bad)
    assert str(error.value) == (
        "params.yaml: model.units lists 2 sizes but model.layers = 3: give one size per layer, or a single integer"
    )


def test_suggestions_name_one_close_key() -> None:
    typo = copy.deepcopy(DEFAULTS)
    typo["model"]["unit"] = 3
    with pytest.raises(PipelineError, match=r"unknown key model.unit: did you mean model.units\?$"):
        params.validate(typo)


def declared_reads(stage: str) -> list[str]:
    """The PARAMS tuple of pipeline/<stage>.py, read without importing it (train would load TensorFlow)."""
    tree = ast.parse((ROOT / "pipeline" / f"{stage}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["PARAMS"]:
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"pipeline/{stage}.py declares no PARAMS")


def test_each_stage_declares_what_dvc_records_and_reads_it_through_load() -> None:
    """dvc.yaml's `params:` are what DVC watches; the stage gets exactly those from params.load."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        source = (ROOT / "pipeline" / f"{name}.py").read_text()
        if name == "check":  # the whole file, as a dep: every section validated before any stage runs
            assert "params.yaml" in stage["deps"] and "params" not in stage and "params.load_all()" in source
            continue
        assert declared_reads(name) == stage["params"], name
        assert source.count("params.load(") == 1 and "params.load(PARAMS)" in source, name
        assert "load_all" not in source, name


def test_load_hands_only_the_declared_sections_and_keys(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(DEFAULTS))
    p = params.load(("encode.num_words", "evaluate.threshold", "baseline"), tmp_path / "params.yaml")
    assert p == {"encode": {"num_words": 2000}, "evaluate": {"threshold": 0.5}, "baseline": DEFAULTS["baseline"]}


def test_load_still_validates_the_whole_file(tmp_path: Path) -> None:
    broken = copy.deepcopy(DEFAULTS)
    broken["model"]["cell"] = "transformer"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(PipelineError, match=r"model\.cell"):
        params.load(("pad",), tmp_path / "params.yaml")


def test_floats_written_as_yaml_1_2_writes_them_are_numbers(tmp_path: Path) -> None:
    """`1e-3` (no dot) is a string to PyYAML's YAML 1.1, a float to DVC and to users."""
    (tmp_path / "params.yaml").write_text(
        DEFAULTS_TEXT.replace("train:\n", "train:\n  learning_rate: 1e-3\n", 1).replace(
            f"  learning_rate: {DEFAULTS['train']['learning_rate']}\n", "", 1
        )
    )
    assert params.load_all(tmp_path / "params.yaml")["train"]["learning_rate"] == 0.001


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_yaml_is_refused_by_the_reader(tmp_path: Path, case: str) -> None:
    """The same as through `check`, in this process (where mutation testing sees the loader)."""
    text, expected = HOSTILE[case]
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PipelineError) as error:
        params.read(tmp_path / "params.yaml")
    assert re.fullmatch(
        expected.removeprefix("error: params.yaml"), str(error.value).removeprefix(str(tmp_path / "params.yaml"))
    )
