"""Stage `pad`: every review to exactly pad.maxlen indices, as keras `pad_sequences` does.

Defaults are Keras': 'pre' padding with 0 and 'pre' truncating (the last maxlen tokens are
kept). `length` keeps each review's token count before truncation, for evaluate's analysis.
"""

import logging

import numpy as np

from pipeline.lib import params, paths
from pipeline.lib.cli import run
from pipeline.lib.files import load_npz, require, save_npz
from pipeline.lib.text import pad_sequences

log = logging.getLogger("pad")


def main() -> None:
    pad = params.load()["pad"]
    for split in paths.SPLITS:
        data = load_npz(require(paths.split_file(paths.ENCODED, split, ".npz")))
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
