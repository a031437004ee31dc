"""Stage `pad`: every review to exactly pad.maxlen indices, as keras `pad_sequences` does.

Defaults are Keras': 'pre' padding with 0 and 'pre' truncating (the last maxlen tokens are
kept). Vectorised over the concatenated tokens, no Python loop per review.
"""

import logging

import numpy as np

from pipeline import params, paths
from pipeline.errors import run
from pipeline.files import load_npz, require, save_npz

log = logging.getLogger("pad")


def pad_sequences(
    tokens: np.ndarray, offsets: np.ndarray, maxlen: int, padding: str = "pre", truncating: str = "pre"
) -> np.ndarray:
    """An (n, maxlen) int32 array; review i is tokens[offsets[i]:offsets[i+1]]."""
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


def main() -> None:
    pad = params.load()["pad"]
    for split in paths.SPLITS:
        data = load_npz(require(paths.split_file(paths.TOKENIZED, split, ".npz")))
        x = pad_sequences(data["tokens"], data["offsets"], pad["maxlen"], pad["padding"], pad["truncating"])
        save_npz(
            paths.split_file(paths.PADDED, split, ".npz"),
            x=x,
            y=data["y"],
            id=data["id"],
            stars=data["stars"],
            length=np.diff(data["offsets"]).astype(np.int32),
        )
        log.info("%s: x %s, %d positive", split, x.shape, int(data["y"].sum()))


if __name__ == "__main__":
    run(main)
