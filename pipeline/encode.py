"""Stage `encode`: fit the vocabulary on the training texts, turn every review into word indices.

The vocabulary is Keras' legacy `Tokenizer(num_words)`, exactly (see pipeline/lib/tokenizer.py);
reviews keep their own lengths here, and `pad` cuts them to shape.

Texts are read a batch at a time. While counting, each train batch's distinct words and word
codes go to unnamed temporary files, so encoding train afterwards looks each distinct word up
once instead of splitting every text again. Indices go through a temporary file too: the .npz
entry's header needs their total count first.
"""

import contextlib
import logging
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lib import params, paths, vocabulary
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import BATCH_REVIEWS, column_batches, npz_writer, require, spill
from pipeline.lib.tokenizer import (
    codes_to_sequences,
    distinct_words,
    fit_vocabulary,
    split_words,
    words_to_sequences,
)

log = logging.getLogger("encode")

# What this stage reads of params.yaml; dvc.yaml's `params:` lists the same (tests/test_params.py).
PARAMS = ("encode",)

CHUNK = 1 << 20  # indices per read when copying the spill into the .npz
WORDS = pa.schema([("words", pa.string())])


def word_batches(path: Path, batch: int) -> Iterator[pa.ListArray]:
    """split_words over the texts of a prepared split, `batch` reviews at a time."""
    for texts in column_batches(path, "text", batch):
        yield split_words(texts)


def write_split(source: Path, target: Path, sequences: Iterable[tuple[np.ndarray, np.ndarray]]) -> int:
    """target.npz: tokens, offsets, y, id, stars from the (tokens, offsets) of each batch; returns
    the tokens kept."""
    columns = pq.read_table(source, columns=["label", "id", "stars"])
    with spill(np.int32, target.parent) as indices:
        lengths = [np.zeros(0, np.int64)]
        for tokens, offsets in sequences:
            indices.append(tokens)
            lengths.append(np.diff(offsets))
        offsets = np.zeros(len(columns) + 1, dtype=np.int64)
        np.cumsum(np.concatenate(lengths), out=offsets[1:])
        with npz_writer(target) as npz:
            npz.write_chunks("tokens", np.int32, (indices.size,), indices.chunks(CHUNK))
            npz.write("offsets", offsets)
            npz.write("y", columns.column("label").to_numpy())
            npz.write("id", columns.column("id").to_numpy())
            npz.write("stars", columns.column("stars").to_numpy())
        return indices.size


def encode(prepared: Path, encoded: Path, num_words: int, batch: int = BATCH_REVIEWS) -> list[str]:
    """Fit the vocabulary on prepared/train.parquet, write encoded/{train,test}.npz; return it."""
    sources = {split: require(paths.split_file(prepared, split, ".parquet")) for split in paths.SPLITS}
    targets = {split: paths.split_file(encoded, split, ".npz") for split in paths.SPLITS}
    encoded.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        codes = stack.enter_context(spill(np.int32, encoded))
        words_file = stack.enter_context(tempfile.TemporaryFile(dir=encoded))
        sizes: list[int] = []  # codes per batch
        review_offsets: list[np.ndarray] = []

        def counted() -> Iterator[tuple[pa.StringArray, np.ndarray]]:
            with pa.ipc.new_stream(pa.PythonFile(words_file, mode="w"), WORDS) as writer:
                for lists in word_batches(sources["train"], batch):
                    words, batch_codes, offsets = distinct_words(lists)
                    writer.write_batch(pa.record_batch([words], schema=WORDS))
                    codes.append(batch_codes)
                    sizes.append(len(batch_codes))
                    review_offsets.append(offsets)
                    yield words, batch_codes

        vocab = fit_vocabulary(counted(), num_words)
        if not vocab:
            raise PipelineError("the training texts contain no words: nothing to fit a vocabulary on")
        words_file.seek(0)
        distinct = pa.ipc.open_stream(pa.PythonFile(words_file, mode="r"))
        train = (
            codes_to_sequences(words.column(0), batch_codes, offsets, vocab)
            for words, batch_codes, offsets in zip(distinct, codes.pieces(sizes), review_offsets, strict=True)
        )
        kept = {"train": write_split(sources["train"], targets["train"], train)}
    test = (words_to_sequences(lists, vocab) for lists in word_batches(sources["test"], batch))
    kept["test"] = write_split(sources["test"], targets["test"], test)
    for split, source in sources.items():
        log.info("%s: %d reviews, %d tokens kept", split, pq.ParquetFile(source).metadata.num_rows, kept[split])
    return vocab


def main() -> None:
    num_words = params.load(PARAMS)["encode"]["num_words"]
    vocab = encode(paths.PREPARED, paths.ENCODED, num_words)
    vocabulary.save(num_words, vocab)


if __name__ == "__main__":
    run(main)
