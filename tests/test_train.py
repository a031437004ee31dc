"""train: the validation split, determinism and tf.distribute, with real Keras."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import ROOT

from pipeline.lib.cli import PipelineError
from pipeline.train import split_validation


def test_validation_split_is_stratified_and_shuffled() -> None:
    # the tutorial's order: all positives, then all negatives
    x = np.arange(1000).reshape(-1, 1)
    y = np.array([1] * 500 + [0] * 500)
    _, x_val, y_train, y_val = split_validation(x, y, 0.2, seed=3)
    assert len(y_val) == 200 and y_val.sum() == 100  # half negative, unlike Keras' last-20% split
    assert y_train.sum() == 400
    assert not np.array_equal(np.sort(x_val.ravel()), x_val.ravel())  # shuffled
    again = split_validation(x, y, 0.2, seed=3)
    assert np.array_equal(again[1], x_val)


def test_validation_split_is_scikit_learns_row_for_row() -> None:
    """The same rows as train_test_split(stratify=y): the committed weights depend on them."""
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(0)
    cases = [(25_000, 2, 0.2, 42), (1001, 2, 0.33, 1), (97, 3, 0.5, 7), (50, 2, 0.1, 0), (30, 3, 0.34, 5)]
    for n, labels, fraction, seed in cases:
        y = np.sort(rng.integers(0, labels, n))[::-1]  # sorted by label, as the tutorial's files
        if n == 30:
            y = np.repeat(np.arange(labels), n // labels)  # equal remainders: the tie is drawn at random
        x = np.arange(n)
        ours = split_validation(x, y, fraction, seed)
        theirs = train_test_split(x, y, test_size=fraction, stratify=y, random_state=seed, shuffle=True)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True)), (n, labels, fraction, seed)


def test_a_validation_split_that_cannot_hold_both_labels_is_one_line() -> None:
    with pytest.raises(PipelineError, match=r"train.validation_split = 0.1: 9 training and 1 validation reviews"):
        split_validation(np.arange(10), np.array([0, 1] * 5), 0.1, seed=0)


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_finished_stage_exits_at_once_with_its_output_flushed() -> None:
    code = """
        from pipeline.lib.backend import exit_without_teardown
        print("written", end="")  # no newline: only an explicit flush gets it out of the pipe's buffer
        exit_without_teardown()
        print("never")
    """
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=buffered, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (0, "written")


def test_mirrored_strategy_trains_a_step_on_two_logical_cpus() -> None:
    out = run_python(
        """
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import numpy as np, yaml
        from pipeline.lib.model import build_model
        from pipeline.train import make_strategy
        config = yaml.safe_load(open("params.yaml"))["model"]
        strategy = make_strategy("mirrored")
        with strategy.scope():
            model = build_model(30, 7, config)
            model.compile(optimizer="adam", loss="binary_crossentropy")
        before = model.get_weights()
        x = np.random.default_rng(0).integers(0, 30, size=(16, 7))
        model.fit(x, np.arange(16) % 2, batch_size=16, epochs=1, verbose=0)
        changed = any((a != b).any() for a, b in zip(before, model.get_weights()))
        gpus = len(tf.config.list_logical_devices("GPU"))
        print(strategy.num_replicas_in_sync == (gpus or 2), changed)  # one replica per GPU, else per CPU
        """
    )
    assert out.split() == ["True", "True"]


def test_same_seed_gives_the_same_weights() -> None:
    code = """
        import numpy as np, yaml
        from pipeline.lib.model import build_model
        from pipeline.train import set_determinism
        set_determinism(7)
        model = build_model(30, 7, yaml.safe_load(open("params.yaml"))["model"])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        x = np.random.default_rng(0).integers(0, 30, size=(64, 7))
        model.fit(x, np.arange(64) % 2, batch_size=16, epochs=2, verbose=0)
        print(float(sum(np.abs(w).sum() for w in model.get_weights())))
        """
    assert run_python(code) == run_python(code)
