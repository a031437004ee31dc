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
