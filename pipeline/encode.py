"""Stage `encode`: fit the vocabulary on the training texts, turn every review into word indices.

The vocabulary is Keras' legacy `Tokenizer(num_words)`, exactly (see pipeline/lib/text.py);
reviews keep their own lengths here, and `pad` cuts them to shape. Texts are read a batch at
a time, twice for train (count, then encode); the indices go through an unnamed temporary
file, since the .npz entry's header needs their total count first.
"""

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lib import params, paths
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import npz_writer, require, spill, write_json
from pipeline.lib.text import BATCH_REVIEWS, fit_vocabulary, split_words, words_to_sequences

log = logging.getLogger("encode")

CHUNK = 1 << 20  # indices per read when copying the spill into the .npz


def word_batches(path: Path, batch: int) -> Iterator[pa.ListArray]:
    """split_words over the texts of a prepared split, `batch` reviews at a time."""
    for records in pq.ParquetFile(path).iter_batches(batch_size=batch, columns=["text"]):
        yield split_words(records.column("text").to_pylist())


def encode_split(source: Path, target: Path, vocab: list[str], batch: int) -> int:
    """target.npz: tokens, offsets, y, id, stars of one prepared split; returns the tokens kept."""
    columns = pq.read_table(source, columns=["label", "id", "stars"])
    with spill(np.int32, target.parent) as indices:
        lengths = []
        for lists in word_batches(source, batch):
            tokens, offsets = words_to_sequences(lists, vocab)
            indices.append(tokens)
            lengths.append(np.diff(offsets))
        offsets = np.zeros(len(columns) + 1, dtype=np.int64)
        np.cumsum(np.concatenate([np.zeros(0, np.int64), *lengths]), out=offsets[1:])
        with npz_writer(target) as npz:
            npz.write_chunks("tokens", np.int32, (indices.size,), indices.chunks(CHUNK))
            npz.write("offsets", offsets)
            npz.write("y", columns.column("label").to_numpy())
            npz.write("id", columns.column("id").to_numpy())
            npz.write("stars", columns.column("stars").to_numpy())
    return indices.size


def main(batch: int = BATCH_REVIEWS) -> None:
    num_words = params.load()["encode"]["num_words"]
    sources = {split: require(paths.split_file(paths.PREPARED, split, ".parquet")) for split in paths.SPLITS}
    vocab = fit_vocabulary(word_batches(sources["train"], batch), num_words)
    if not vocab:
        raise PipelineError("the training texts contain no words: nothing to fit a vocabulary on")
    write_json(paths.VOCAB, {"num_words": num_words, "words": vocab})
    for split, source in sources.items():
        kept = encode_split(source, paths.split_file(paths.ENCODED, split, ".npz"), vocab, batch)
        log.info("%s: %d reviews, %d tokens kept", split, pq.ParquetFile(source).metadata.num_rows, kept)


if __name__ == "__main__":
    run(main)
