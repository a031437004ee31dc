"""The model variants params.yaml can name, in one registry: params (the allowed values), model (the
Keras layers, their parameter counts, the export), inference (the NumPy cells), train (the
optimizers) and benchmarks read it. Names only: params and inference must load without TensorFlow."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    keras: str  # its keras.layers class
    gates: int  # weight blocks of (h + x) * h + h each: one per gate, and the candidate
    second_bias: bool  # a recurrent bias per block too (GRU as Keras builds it, reset_after=True)


# In the order params.yaml's `allowed` lists them (data/params_schema.json, check's output).
CELLS = {
    "simple_rnn": Cell("SimpleRNN", gates=1, second_bias=False),
    "lstm": Cell("LSTM", gates=4, second_bias=False),  # input, forget, candidate, output
    "gru": Cell("GRU", gates=3, second_bias=True),  # update, reset, candidate
}
OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD", "adamw": "AdamW"}  # -> keras.optimizers class
# What the dense head reads of the last recurrent layer: its last state (no pooling), or its outputs
# pooled over time, by one pooling or by two side by side (concatenated).
POOLED_BY = {"max": "GlobalMaxPooling1D", "mean": "GlobalAveragePooling1D"}  # -> keras.layers class
POOLINGS = {"last": (), "max": ("max",), "mean": ("mean",), "max_mean": ("max", "mean")}
