"""train: the validation split, determinism and tf.distribute, with real Keras."""

import subprocess
import sys
import textwrap

import numpy as np
from conftest import ROOT

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
