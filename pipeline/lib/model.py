"""The tutorial's recurrent network, generalised to the variants it teaches, and its parameter count.

Embedding -> [SpatialDropout1D] -> Dropout -> recurrent layer(s) -> [max or mean pooling over time, or both]
-> Dense(relu) -> Dropout -> Dense(sigmoid).
"""

import json
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.lib import model_format
from pipeline.lib.backend import keras
from pipeline.lib.cli import PipelineError
from pipeline.lib.files import atomic_path, fix_zip, save_npz
from pipeline.lib.params import layer_units
from pipeline.lib.variants import CELLS, POOLED_BY, POOLINGS

layers = keras.layers

RECURRENT = {name: getattr(layers, cell.keras) for name, cell in CELLS.items()}


def build_model(num_words: int, maxlen: int, config: dict) -> keras.Model:
    """The classifier described by params.yaml's `model` section.

    The options past the tutorial's (pooling, mask_padding, spatial_dropout, recurrent_dropout)
    add or set something only when not at their defaults, so the tutorial's model keeps its layers,
    names and bytes.
    """
    units = layer_units(config)
    pools = POOLINGS[config["pooling"]]
    extra = {"recurrent_dropout": config["recurrent_dropout"]} if config["recurrent_dropout"] else {}
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    mask = {"mask_zero": True} if config["mask_padding"] else {}
    x = layers.Embedding(num_words, config["embedding_dim"], name="embedding", **mask)(inputs)
    if config["spatial_dropout"]:
        x = layers.SpatialDropout1D(config["spatial_dropout"], name="spatial_dropout")(x)
    x = layers.Dropout(config["embedding_dropout"])(x)
    for depth, size in enumerate(units, start=1):
        sequences = depth < len(units) or bool(pools)
        rnn = RECURRENT[config["cell"]](
            size, return_sequences=sequences, unroll=config["unroll"], name=f"rnn_{depth}", **extra
        )
        x = layers.Bidirectional(rnn, name=f"bidirectional_{depth}")(x) if config["bidirectional"] else rnn(x)
    if len(pools) == 1:
        x = getattr(layers, POOLED_BY[pools[0]])(name="pooling")(x)
    elif pools:  # each pooling of the same outputs, side by side
        pooled = [getattr(layers, POOLED_BY[op])(name=f"pooling_{op}")(x) for op in pools]
        x = layers.Concatenate(name="pooling")(pooled)
    x = layers.Dense(config["dense_units"], activation="relu")(x)
    x = layers.Dropout(config["dense_dropout"])(x)
    outputs = layers.Dense(1, activation="sigmoid", name="sentiment")(x)
    return keras.Model(inputs, outputs, name=f"imdb_{config['cell']}")


def recurrent_params(cell: str, h: int, x: int, bidirectional: bool = False) -> int:
    """Weights and biases of one recurrent layer with h units on inputs of size x.

    SimpleRNN: (h + x) * h + h, the tutorial's formula. LSTM: four such blocks.
    GRU as Keras builds it (reset_after=True): three blocks plus a second bias each.
    A bidirectional layer has two independent copies.
    """
    count = CELLS[cell].gates * ((h + x) * h + h)
    if CELLS[cell].second_bias:
        count += CELLS[cell].gates * h
    return count * (2 if bidirectional else 1)


def recurrent_checks(config: dict) -> list[tuple[str, int]]:
    """(layer name, expected parameter count) for each recurrent layer of build_model(config)."""
    checks = []
    width = config["embedding_dim"]
    directions = 2 if config["bidirectional"] else 1
    for depth, size in enumerate(layer_units(config), start=1):
        name = f"bidirectional_{depth}" if config["bidirectional"] else f"rnn_{depth}"
        checks.append((name, recurrent_params(config["cell"], size, width, config["bidirectional"])))
        width = size * directions
    return checks


def _renumber_shared_objects(config: object, ids: dict[int, int]) -> object:
    """Keras names objects shared between layers by their Python id(), a memory address that
    differs on every run; number them 1, 2, ... in order of appearance instead."""
    if isinstance(config, dict):
        return {
            key: ids.setdefault(value, len(ids) + 1)
            if key == "shared_object_id"
            else _renumber_shared_objects(value, ids)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [_renumber_shared_objects(value, ids) for value in config]
    return config


def save_model(model: keras.Model, path: Path) -> None:
    """Keras' .keras file, with bytes that depend on the model alone.

    Keras writes the save date, memory addresses and the current time into the file, so two
    identical trainings would give two md5s, dirty dvc.lock and re-run evaluate.
    """

    def canonical(name: str, data: bytes) -> bytes:
        if name == "metadata.json":
            metadata = json.loads(data)
            metadata.pop("date_saved", None)
            return json.dumps(metadata).encode()
        if name == "config.json":
            return json.dumps(_renumber_shared_objects(json.loads(data), {})).encode()
        return data

    with atomic_path(path) as tmp:
        model.save(tmp)
        fix_zip(tmp, canonical)


def _recurrent_spec(layer: keras.layers.RNN, masked: bool) -> dict:
    """What inference.py needs of a recurrent layer; anything it does not compute is refused.

    Dropout and recurrent_dropout are the identity at inference. Under a mask, a masked step
    keeps the state, and its output is the previous one or, with zero_output_for_mask (which
    Bidirectional sets on layers that return sequences), zeros.
    """
    cell = next((name for name, kind in RECURRENT.items() if type(layer) is kind), None)
    if (
        cell is None
        or layer.stateful
        or not layer.cell.use_bias
        or (CELLS[cell].second_bias and not layer.cell.reset_after)
    ):
        raise PipelineError(f"layer {layer.name}: no NumPy forward pass for this {type(layer).__name__}")
    spec = {
        "cell": cell,
        "activation": keras.activations.serialize(layer.cell.activation),
        "return_sequences": layer.return_sequences,
    }
    if CELLS[cell].gates > 1:  # gated cells
        spec["recurrent_activation"] = keras.activations.serialize(layer.cell.recurrent_activation)
    if masked and layer.zero_output_for_mask:
        spec["zero_output_for_mask"] = True
    return spec


POOLING_LAYERS = {op: getattr(layers, kind) for op, kind in POOLED_BY.items()}
CONCATENATED = {ops: name for name, ops in POOLINGS.items() if len(ops) > 1}  # ("max", "mean") -> "max_mean"


def _pooling_spec(layer: keras.layers.Layer) -> dict | None:
    """Max or mean over time, as inference.py computes it; None for any other layer."""
    op = next((op for op, kind in POOLING_LAYERS.items() if type(layer) is kind), None)
    if op is None or layer.data_format != "channels_last" or layer.keepdims:
        return None
    return {"type": "pooling", "op": op}


def export_weights(model: keras.Model, path: Path, preprocessing: dict[str, Any]) -> None:
    """The model as inference.py reads it: its layers as JSON and their weights in one .npz, so that
    predict runs without TensorFlow, with the preprocessing it was trained on (padding, truncating,
    words; see model_format). Same weights, same bytes (sorted JSON, fixed zip timestamps).

    Options keep the tutorial's spec as it was: a key is added only where it is not the default."""
    specs: list[dict] = []
    arrays: dict[str, np.ndarray] = {}
    masked = False  # Embedding(mask_zero=True) upstream: the recurrent layers skip padding
    pooled: list[str] = []  # poolings of the same sequence, waiting for the layer that reads them
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer | keras.layers.Dropout):
            continue  # the identity at inference (SpatialDropout1D is a Dropout too)
        if (pooling := _pooling_spec(layer)) is not None:
            pooled.append(pooling["op"])
            continue
        if isinstance(layer, keras.layers.Concatenate) and tuple(pooled) in CONCATENATED and layer.axis == -1:
            specs.append({"type": "pooling", "op": CONCATENATED[tuple(pooled)]})
            pooled = []
            continue
        if len(pooled) == 1:  # one pooling, which this layer reads
            specs.append({"type": "pooling", "op": pooled.pop()})
        elif pooled:
            raise PipelineError(f"layer {layer.name}: no NumPy forward pass for poolings {pooled} not concatenated")
        name = str(len(specs))
        if isinstance(layer, keras.layers.Embedding):
            masked = layer.mask_zero
            spec, parts = {"type": "embedding", **({"mask_zero": True} if masked else {})}, {name: layer}
        elif isinstance(layer, keras.layers.Bidirectional) and layer.merge_mode == "concat":
            if masked and layer.return_sequences and layer.forward_layer.unroll:
                raise PipelineError(
                    f"layer {layer.name}: Keras' unrolled backward layer misplaces the mask in its sequence"
                    " output; no NumPy forward pass reproduces it (build it with unroll=False)"
                )
            spec = {"type": "bidirectional", **_recurrent_spec(layer.forward_layer, masked)}
            _recurrent_spec(layer.backward_layer, masked)  # checked too: it is a layer of its own
            parts = {f"{name}/forward": layer.forward_layer, f"{name}/backward": layer.backward_layer}
        elif isinstance(layer, keras.layers.RNN) and not layer.go_backwards:
            spec, parts = {"type": "recurrent", **_recurrent_spec(layer, masked)}, {name: layer}
        elif isinstance(layer, keras.layers.Dense) and layer.use_bias:
            spec = {"type": "dense", "activation": keras.activations.serialize(layer.activation)}
            parts = {name: layer}
        else:
            raise PipelineError(f"layer {layer.name}: no NumPy forward pass for a {type(layer).__name__}")
        for key in ("activation", "recurrent_activation"):
            if spec.get(key, "linear") not in model_format.ACTIVATIONS:
                raise PipelineError(f"layer {layer.name}: no NumPy forward pass for {key} {spec[key]}")
        specs.append(spec)
        arrays.update({f"{prefix}/{w.name}": w.numpy() for prefix, part in parts.items() for w in part.weights})
    spec_json = json.dumps({"maxlen": model.input_shape[1], "layers": specs, **preprocessing}, sort_keys=True)
    save_npz(path, **{model_format.SPEC: np.array(spec_json)}, **arrays)
