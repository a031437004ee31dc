"""predict's NumPy forward pass computes what Keras computes, for every model params.yaml can describe."""

import copy
import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest
from tutorial_params import tutorial

from pipeline.lib import inference
from pipeline.lib.cli import PipelineError
from pipeline.lib.model import build_model, export_weights, keras
from pipeline.lib.variants import CELLS

DEFAULT = tutorial()["model"]
VARIANTS = list(itertools.product(CELLS, [False, True], [1, 2]))  # every cell of the registry
PREPROCESSING = {"padding": "pre", "truncating": "pre", "words": ["film", "plot"]}


def random_model(config: dict, seed: int = 0) -> keras.Model:
    """Every weight drawn at random, biases too (Keras starts them at zero, which would hide a
    misplaced bias), large enough that every gate and activation matters."""
    model = build_model(40, 12, config)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.8, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize(("cell", "bidirectional", "layers"), VARIANTS)
def test_numpy_equals_keras(tmp_path: Path, cell: str, bidirectional: bool, layers: int) -> None:
    config = copy.deepcopy(DEFAULT)
    config.update(cell=cell, bidirectional=bidirectional, layers=layers, units=[6, 5][:layers], embedding_dim=5)
    config.update(dense_units=7, unroll=layers == 1)  # both of Keras' loops
    model = random_model(config)
    export_weights(model, tmp_path / "model.npz", PREPROCESSING)
    spec, weights = inference.load(tmp_path / "model.npz")
    x = np.random.default_rng(1).integers(0, 40, size=(64, 12)).astype(np.int32)
    x[:8, :6] = 0  # pre-padding, as pad writes it
    expected = model.predict(x, verbose=0).ravel()
    assert expected.std() > 0.01  # outputs spread out, not all one value a broken pass could also hit
    np.testing.assert_allclose(inference.predict(spec, weights, x), expected, rtol=0, atol=1e-5)


def test_the_export_is_byte_identical_for_the_same_weights(tmp_path: Path) -> None:
    """It is a cached output of train: an identical retrain must not change its md5 in dvc.lock."""
    config = {**DEFAULT, "cell": "gru", "bidirectional": True}
    export_weights(random_model(config), tmp_path / "a.npz", PREPROCESSING)
    export_weights(random_model(config), tmp_path / "b.npz", PREPROCESSING)
    export_weights(random_model(config, seed=1), tmp_path / "c.npz", PREPROCESSING)
    digests = [hashlib.md5((tmp_path / name).read_bytes()).hexdigest() for name in ("a.npz", "b.npz", "c.npz")]
    assert digests[0] == digests[1] != digests[2]


def test_a_layer_without_a_numpy_pass_is_refused_at_export(tmp_path: Path) -> None:
    inputs = keras.Input(shape=(12,), dtype="int32")
    x = keras.layers.Embedding(40, 5)(inputs)
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D(name="pool")(x))
    with pytest.raises(PipelineError, match="layer pool: no NumPy forward pass for a GlobalAveragePooling1D"):
        export_weights(keras.Model(inputs, outputs), tmp_path / "model.npz", PREPROCESSING)
    assert not (tmp_path / "model.npz").exists()


def test_the_input_length_is_checked(tmp_path: Path) -> None:
    export_weights(random_model(DEFAULT), tmp_path / "model.npz", PREPROCESSING)
    spec, weights = inference.load(tmp_path / "model.npz")
    with pytest.raises(PipelineError, match=r"sequences of 12 tokens, got shape \(2, 13\)"):
        inference.predict(spec, weights, np.zeros((2, 13), np.int32))


def test_the_format_names_exactly_the_activations_the_forward_pass_computes() -> None:
    """Export refuses what model_format does not name; the reader must compute every name it does."""
    from pipeline.lib import model_format

    assert set(inference.ACTIVATIONS) == set(model_format.ACTIVATIONS)
