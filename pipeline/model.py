"""The tutorial's recurrent network, generalised to the variants it teaches, and its parameter count.

Embedding -> Dropout -> recurrent layer(s) -> Dense(relu) -> Dropout -> Dense(sigmoid).
"""

import os

from pipeline.errors import debug_enabled
from pipeline.params import layer_units


def _import_keras_quietly():
    """Import Keras (and TensorFlow) without the C++ start-up chatter on stderr.

    TensorFlow prints oneDNN and CUDA notices through absl before its logging is set up, so
    TF_CPP_MIN_LOG_LEVEL cannot hide them; stderr is closed for the import alone instead.
    With PIPELINE_DEBUG=1 everything is shown.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if debug_enabled():
        import keras

        return keras
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras


keras = _import_keras_quietly()
layers = keras.layers

RECURRENT = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}
# Weight blocks per cell: SimpleRNN one, LSTM four gates, GRU three (update, reset, candidate).
GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def build_model(num_words: int, maxlen: int, config: dict) -> keras.Model:
    """The classifier described by params.yaml's `model` section."""
    units = layer_units(config)
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    x = layers.Embedding(num_words, config["embedding_dim"], name="embedding")(inputs)
    x = layers.Dropout(config["embedding_dropout"])(x)
    for depth, size in enumerate(units, start=1):
        rnn = RECURRENT[config["cell"]](
            size, return_sequences=depth < len(units), unroll=config["unroll"], name=f"rnn_{depth}"
        )
        x = layers.Bidirectional(rnn, name=f"bidirectional_{depth}")(x) if config["bidirectional"] else rnn(x)
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
    count = GATES[cell] * ((h + x) * h + h)
    if cell == "gru":
        count += 3 * h
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
