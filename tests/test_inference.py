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


def padded_rows(rng: np.random.Generator) -> np.ndarray:
    """Reviews as pad writes them, every case of masking: pre- and post-padding of each length,
    rows of padding alone, rows without padding (indices from 1: no token of theirs is padding)."""
    x = rng.integers(1, 40, size=(48, 12)).astype(np.int32)
    for row in range(36):
        length = row % 12  # 0: padding alone
        x[row, : 12 - length] = 0
        if row >= 18:  # post-padding
            x[row] = np.roll(x[row], -(12 - length))
    return x


# (cell, bidirectional, layers, unroll, option changes): each option alone, and the combinations.
OPTIONS = [
    ("simple_rnn", False, 1, True, {"pooling": "max"}),
    ("gru", True, 1, False, {"pooling": "mean"}),
    ("lstm", False, 1, True, {"spatial_dropout": 0.3, "recurrent_dropout": 0.4}),
    ("simple_rnn", False, 1, True, {"mask_padding": True}),  # its last state
    ("simple_rnn", True, 1, True, {"mask_padding": True}),  # each direction's last state
    ("lstm", False, 2, True, {"mask_padding": True, "pooling": "max"}),
    ("gru", False, 1, False, {"mask_padding": True, "pooling": "mean"}),
    ("simple_rnn", True, 1, False, {"mask_padding": True, "pooling": "max"}),
    *[(cell, True, 2, False, {"mask_padding": True}) for cell in CELLS],
    ("lstm", True, 2, False, {"mask_padding": True, "pooling": "mean", "spatial_dropout": 0.2}),
    ("gru", False, 2, True, {"mask_padding": True, "pooling": "mean", "recurrent_dropout": 0.3}),
    ("lstm", False, 1, True, {"pooling": "max_mean"}),
    ("gru", True, 1, False, {"mask_padding": True, "pooling": "max_mean", "spatial_dropout": 0.3}),
]


@pytest.mark.parametrize(("cell", "bidirectional", "layers", "unroll", "options"), OPTIONS)
def test_numpy_equals_keras_with_the_options(
    tmp_path: Path, cell: str, bidirectional: bool, layers: int, unroll: bool, options: dict
) -> None:
    config = copy.deepcopy(DEFAULT)
    config.update(cell=cell, bidirectional=bidirectional, layers=layers, units=[6, 5][:layers], embedding_dim=5)
    config.update(dense_units=7, unroll=unroll, **options)
    model = random_model(config)
    export_weights(model, tmp_path / "model.npz", PREPROCESSING)
    spec, weights = inference.load(tmp_path / "model.npz")
    x = padded_rows(np.random.default_rng(1))
    expected = model.predict(x, verbose=0).ravel()
    got = full = inference.predict(spec, weights, x)
    padding_alone = (x == 0).all(axis=1)
    if options.get("mask_padding") and options.get("pooling") in ("mean", "max_mean"):  # 0 / 0 in Keras' mean
        assert np.isnan(expected[padding_alone]).all() and np.isnan(got[padding_alone]).all()
        expected, got = expected[~padding_alone], got[~padding_alone]
    assert np.isfinite(expected).all() and expected.std() > 0.01
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    if options.get("mask_padding"):  # the padding's own embedding must not matter, as Keras masks it
        other = copy.deepcopy(weights)
        other["0/embeddings"][0] += 3.0
        np.testing.assert_allclose(inference.predict(spec, other, x), full, rtol=0, atol=1e-6)


def test_the_masked_options_change_what_numpy_computes(tmp_path: Path) -> None:
    """The parity above could hold by accident if masking changed nothing on these rows: it does."""
    config = {**DEFAULT, "cell": "gru", "units": 6, "embedding_dim": 5, "dense_units": 7}
    x = padded_rows(np.random.default_rng(1))
    outputs = {}
    for name, options in {"plain": {}, "mask": {"mask_padding": True}, "max": {"pooling": "max"}}.items():
        export_weights(random_model({**config, **options}), tmp_path / f"{name}.npz", PREPROCESSING)
        outputs[name] = inference.predict(*inference.load(tmp_path / f"{name}.npz"), x)
    padded = (x == 0).any(axis=1)
    assert (np.abs(outputs["mask"] - outputs["plain"])[padded] > 1e-3).mean() > 0.9
    np.testing.assert_array_equal(outputs["mask"][~padded], outputs["plain"][~padded])  # same weights
    assert (np.abs(outputs["max"] - outputs["plain"]) > 1e-3).mean() > 0.9


def test_keras_unrolled_bidirectional_masking_is_refused_at_export(tmp_path: Path) -> None:
    """Keras 3 (TensorFlow backend) zeroes an unrolled backward layer's sequence output with the
    mask in forward order: a pre-padded row's tokens get zeros and some padding steps outputs, a
    post-padded row gets no output at all."""
    config = {**DEFAULT, "bidirectional": True, "pooling": "max", "mask_padding": True, "units": 3}
    model = random_model(config)
    x = np.array([[0] * 9 + [3, 4, 5], [3, 4, 5] + [0] * 9], np.int32)
    sequences = keras.Model(model.input, model.get_layer("bidirectional_1").output).predict(x, verbose=0)
    backward = sequences[..., 3:]
    assert (backward[0, :3] != 0).all() and (backward[0, 3:] == 0).all()  # the bug itself
    assert (backward[1] == 0).all()
    with pytest.raises(PipelineError, match=r"^layer bidirectional_1: Keras' unrolled backward layer misplaces"):
        export_weights(model, tmp_path / "model.npz", PREPROCESSING)
    assert not (tmp_path / "model.npz").exists()


def test_the_tutorials_spec_has_no_option_keys(tmp_path: Path) -> None:
    """models/model.npz of the defaults keeps its bytes: the options add keys only when set."""
    export_weights(random_model(DEFAULT), tmp_path / "model.npz", PREPROCESSING)
    spec, _ = inference.load(tmp_path / "model.npz")
    assert [layer["type"] for layer in spec["layers"]] == ["embedding", "recurrent", "dense", "dense"]
    assert spec["layers"][0] == {"type": "embedding"}
    assert set(spec["layers"][1]) == {"type", "cell", "activation", "return_sequences"}


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
    outputs = keras.layers.Dense(1)(keras.layers.Flatten(name="flat")(x))
    with pytest.raises(PipelineError, match="layer flat: no NumPy forward pass for a Flatten"):
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


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_predict_reads_a_model_trained_with_the_options(tmp_path: Path, padding: str) -> None:
    """predict's route (raw text -> the spec's padding -> inference), for a masked, pooled model."""
    from pipeline.predict import predict_proba

    config = {**DEFAULT, "cell": "lstm", "units": 6, "embedding_dim": 5, "dense_units": 7}
    config.update(mask_padding=True, pooling="mean", spatial_dropout=0.2, recurrent_dropout=0.2)
    model = random_model(config)
    export_weights(model, tmp_path / "model.npz", {**PREPROCESSING, "padding": padding})
    spec, weights = inference.load(tmp_path / "model.npz")
    proba, known = predict_proba(spec, weights, ["A film, a plot: film!", "plot", "nothing known here"])
    pad = {"pre": lambda ids: [0] * (12 - len(ids)) + ids, "post": lambda ids: ids + [0] * (12 - len(ids))}[padding]
    tokens = np.array([pad([1, 2, 1]), pad([2]), pad([])], np.int32)  # "film" is 1, "plot" 2, 0 padding
    expected = model.predict(tokens, verbose=0).ravel()
    np.testing.assert_allclose(proba[:2], expected[:2], rtol=0, atol=1e-5)
    assert known.tolist() == [3, 1, 0] and np.isnan(proba[2]) and np.isnan(expected[2])  # 0 / 0, as Keras
