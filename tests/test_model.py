"""The network built from params: the tutorial's layers, the parameter-count formula, every variant."""

import copy
import itertools

import numpy as np
import pytest
from conftest import ROOT
from tutorial_params import tutorial

from pipeline.lib.model import build_model, keras, recurrent_checks, recurrent_params
from pipeline.lib.variants import CELLS

DEFAULT = tutorial()["model"]


def test_default_model_is_the_tutorials() -> None:
    model = build_model(2000, 100, DEFAULT)
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["Embedding", "Dropout", "SimpleRNN", "Dense", "Dropout", "Dense"]
    assert model.get_layer("embedding").count_params() == 2000 * 32
    assert model.get_layer("rnn_1").count_params() == 784 == (16 + 32) * 16 + 16
    assert model.count_params() == 64000 + 784 + (16 * 256 + 256) + (256 + 1)
    assert model.output_shape == (None, 1)


def test_the_default_options_add_nothing() -> None:
    """pooling, mask_padding, spatial_dropout and recurrent_dropout at their defaults keep the
    tutorial's layers and their configs (the golden md5 in tests/test_reproducibility.py checks
    the bytes)."""
    model = build_model(2000, 100, DEFAULT)
    assert [layer.name for layer in model.layers[:2]] == ["tokens", "embedding"]
    assert [layer.name for layer in model.layers[3:4]] + [model.layers[-1].name] == ["rnn_1", "sentiment"]
    assert model.get_layer("embedding").get_config()["mask_zero"] is False
    rnn = model.get_layer("rnn_1").get_config()
    assert (rnn["return_sequences"], rnn["recurrent_dropout"], rnn["dropout"]) == (False, 0.0, 0.0)
    assert model.layers[2].get_config()["rate"] == 0.2  # the embedding's Dropout, right after it


OPTIONS = [
    ("pooling", "max"),
    ("pooling", "mean"),
    ("pooling", "max_mean"),
    ("mask_padding", True),
    ("spatial_dropout", 0.3),
]


@pytest.mark.parametrize(("key", "value"), [*OPTIONS, ("recurrent_dropout", 0.25)])
def test_each_option_changes_the_model(key: str, value: object) -> None:
    """A no-op implementation of any option fails here (and parity in tests/test_inference.py)."""
    config = {**DEFAULT, "units": [6, 4], "layers": 2, "embedding_dim": 5, "bidirectional": True, "unroll": False}
    plain, model = build_model(30, 7, config), build_model(30, 7, {**config, key: value})
    kinds = [type(layer).__name__ for layer in model.layers]
    recurrent = [model.get_layer(name) for name, _ in recurrent_checks(config)]
    if value == "max_mean":  # both poolings of the same outputs, side by side: twice the dense head's inputs
        assert kinds[-6:-3] == ["GlobalMaxPooling1D", "GlobalAveragePooling1D", "Concatenate"]
        assert model.get_layer("pooling_max").input is model.get_layer("pooling_mean").input
        assert (
            model.layers[-3].kernel.shape[0]
            == 2 * build_model(30, 7, {**config, key: "max"}).layers[-3].kernel.shape[0]
        )
    elif key == "pooling":
        assert kinds[-4] == {"max": "GlobalMaxPooling1D", "mean": "GlobalAveragePooling1D"}[value]
        assert recurrent[-1].return_sequences and model.count_params() == plain.count_params()  # no weights
    elif key == "mask_padding":
        assert model.get_layer("embedding").mask_zero and kinds == [type(layer).__name__ for layer in plain.layers]
    elif key == "spatial_dropout":
        assert kinds[2:4] == ["SpatialDropout1D", "Dropout"] and model.get_layer("spatial_dropout").rate == value
        dropped = model.get_layer("spatial_dropout")(np.ones((4, 7, 5), np.float32), training=True).numpy()
        assert (dropped == dropped[:, :1]).all() and (dropped == 0).any()  # whole channels, every step
    else:  # both directions of every layer
        cells = [part.cell for layer in recurrent for part in (layer.forward_layer, layer.backward_layer)]
        assert [cell.recurrent_dropout for cell in cells] == [value] * 4
    for name, expected in recurrent_checks(config):
        assert model.get_layer(name).count_params() == expected


def test_every_option_at_once_trains_a_step() -> None:
    """Masking, pooling and both dropouts in training mode, through a Keras fit."""
    config = {**DEFAULT, "units": [6, 4], "layers": 2, "embedding_dim": 5, "bidirectional": True, "unroll": False}
    config.update(pooling="mean", mask_padding=True, spatial_dropout=0.3, recurrent_dropout=0.25, cell="gru")
    model = build_model(30, 7, config)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(0).integers(1, 30, size=(8, 7))
    x[:4, :3] = 0
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, np.arange(8) % 2, batch_size=8, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    assert np.isfinite(model.get_weights()[0]).all() and np.isfinite(model.predict(x, verbose=0)).all()


@pytest.mark.parametrize(
    ("cell", "h", "x", "bidirectional", "expected"),
    [
        ("simple_rnn", 16, 32, False, 784),
        ("simple_rnn", 16, 32, True, 1568),
        ("lstm", 16, 32, False, 4 * 784),
        ("gru", 16, 32, False, 3 * 784 + 3 * 16),
        ("gru", 8, 4, True, 2 * (3 * ((8 + 4) * 8 + 8) + 24)),
    ],
)
def test_formula(cell: str, h: int, x: int, bidirectional: bool, expected: int) -> None:
    assert recurrent_params(cell, h, x, bidirectional) == expected


VARIANTS = list(itertools.product(CELLS, [False, True], [1, 2]))  # every cell of the registry


@pytest.mark.parametrize(("cell", "bidirectional", "layers"), VARIANTS)
def test_every_variant_matches_the_formula_and_trains_a_step(cell: str, bidirectional: bool, layers: int) -> None:
    config = copy.deepcopy(DEFAULT)
    config.update(cell=cell, bidirectional=bidirectional, layers=layers, units=[6, 4][:layers], embedding_dim=5)
    model = build_model(30, 7, config)
    for name, expected in recurrent_checks(config):
        assert model.get_layer(name).count_params() == expected
    recurrent = [layer for layer in model.layers if layer.name.startswith(("rnn_", "bidirectional_"))]
    assert len(recurrent) == layers
    if bidirectional:  # forward and backward layers have their own weights
        forward, backward = recurrent[0].forward_layer, recurrent[0].backward_layer
        assert forward.weights[0] is not backward.weights[0]
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(0).integers(0, 30, size=(8, 7))
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, np.arange(8) % 2, batch_size=8, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    proba = model.predict(x, verbose=0)
    assert proba.shape == (8, 1) and ((proba > 0) & (proba < 1)).all()  # one sigmoid probability per review


def test_every_variant_of_the_registry_is_a_keras_class_and_an_allowed_value() -> None:
    """One registry (pipeline/lib/variants.py) names the cells and optimizers for every module."""
    from pipeline.lib import params
    from pipeline.lib.variants import CELLS, OPTIMIZERS

    for cell in CELLS.values():
        assert issubclass(getattr(keras.layers, cell.keras), keras.layers.RNN)
    for optimizer in OPTIMIZERS.values():
        assert issubclass(getattr(keras.optimizers, optimizer), keras.optimizers.Optimizer)
    allowed = params.describe()
    assert allowed["model.cell"] == f"one of {', '.join(CELLS)}"
    assert allowed["train.optimizer"] == f"one of {', '.join(OPTIMIZERS)}"


def test_the_spelled_names_live_in_the_registry() -> None:
    """No pipeline module spells a cell's or an optimizer's name as a string but the registry, and
    inference, whose NumPy maths differs by cell (tests/test_inference.py runs it for each cell of
    the registry)."""
    from pipeline.lib.variants import CELLS, OPTIMIZERS

    names = [*CELLS, *OPTIMIZERS]
    for path in (ROOT / "pipeline").rglob("*.py"):
        if path.name not in ("variants.py", "inference.py"):
            text = path.read_text()
            assert not [name for name in names if f'"{name}"' in text or f"'{name}'" in text], path
