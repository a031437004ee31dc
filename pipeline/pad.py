"""Stage `pad`: every review to exactly pad.maxlen indices, as keras `pad_sequences` does.

Defaults are Keras': 'pre' padding with 0 and 'pre' truncating (the last maxlen tokens are
kept). `length` keeps each review's token count before truncation, for evaluate's analysis.
The indices are read, and the rows written, a batch of reviews at a time.
"""

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pipeline.lib import params, paths
from pipeline.lib.cli import run
from pipeline.lib.files import BATCH_REVIEWS, npz_chunks, npz_writer, require
from pipeline.lib.padding import pad_sequences

log = logging.getLogger("pad")

# What this stage reads of params.yaml; dvc.yaml's `params:` lists the same (tests/test_params.py).
PARAMS = ("pad",)


def padded_rows(source: Path, offsets: np.ndarray, pad: dict, batch: int) -> Iterator[np.ndarray]:
    """pad_sequences over the reviews of an encoded split, `batch` rows at a time."""
    firsts = range(0, len(offsets) - 1, batch)
    sizes = np.diff(offsets[[*firsts, len(offsets) - 1]])
    for first, tokens in zip(firsts, npz_chunks(source, "tokens", sizes), strict=True):
        window = offsets[first : first + batch + 1]
        yield pad_sequences(tokens, window - window[0], pad["maxlen"], pad["padding"], pad["truncating"])


def pad_split(source: Path, target: Path, pad: dict, batch: int) -> None:
    with np.load(source, allow_pickle=False) as encoded:  # entries load on access: tokens never whole
        offsets, y, ids, stars = (encoded[name] for name in ("offsets", "y", "id", "stars"))
    with npz_writer(target) as npz:
        npz.write_chunks("x", np.int32, (len(offsets) - 1, pad["maxlen"]), padded_rows(source, offsets, pad, batch))
        npz.write("y", y)
        npz.write("id", ids)
        npz.write("stars", stars)
        npz.write("length", np.diff(offsets).astype(np.int32))
    log.info("%s: x (%d, %d), %d positive", target.stem, len(y), pad["maxlen"], int(y.sum()))


def main(batch: int = BATCH_REVIEWS) -> None:
    pad = params.load(PARAMS)["pad"]
    for split in paths.SPLITS:
        pad_split(
            require(paths.split_file(paths.ENCODED, split, ".npz")),
            paths.split_file(paths.PADDED, split, ".npz"),
            pad,
            batch,
        )


if __name__ == "__main__":
    run(main)
