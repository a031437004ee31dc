"""Word indices to the model's fixed-length rows: the step pad runs on the corpus and predict repeats."""

import numpy as np


def pad_sequences(
    tokens: np.ndarray, offsets: np.ndarray, maxlen: int, padding: str = "pre", truncating: str = "pre"
) -> np.ndarray:
    """Keras' pad_sequences as an (n, maxlen) int32 array; review i is tokens[offsets[i]:offsets[i+1]].

    Vectorised over the concatenated tokens, no Python loop per review.
    """
    lengths = np.diff(offsets)
    kept = np.minimum(lengths, maxlen)
    first = offsets[:-1] + (lengths - kept if truncating == "pre" else 0)
    column = np.arange(maxlen)
    # Column where each row's kept tokens begin: at the right end for 'pre' padding.
    start = (maxlen - kept if padding == "pre" else np.zeros_like(kept))[:, None]
    filled = (column >= start) & (column < start + kept[:, None])
    source = first[:, None] + column - start
    x = np.zeros((len(lengths), maxlen), dtype=np.int32)
    x[filled] = tokens[source[filled]]
    return x
