"""Stage `encode`: fit the vocabulary on the training texts, turn every review into word indices.

The vocabulary is Keras' legacy `Tokenizer(num_words)`, exactly (see pipeline/lib/text.py);
reviews keep their own lengths here, and `pad` cuts them to shape.
"""

import logging

import pyarrow.parquet as pq

from pipeline.lib import params, paths
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import require, save_npz, write_json
from pipeline.lib.text import fit_vocabulary, split_words, words_to_sequences

log = logging.getLogger("encode")


def main() -> None:
    num_words = params.load()["encode"]["num_words"]
    tables = {
        split: pq.read_table(require(paths.split_file(paths.PREPARED, split, ".parquet"))) for split in paths.SPLITS
    }
    words = {split: split_words(table.column("text").to_pylist()) for split, table in tables.items()}
    vocab = fit_vocabulary(words["train"], num_words)
    if not vocab:
        raise PipelineError("the training texts contain no words: nothing to fit a vocabulary on")
    write_json(paths.VOCAB, {"num_words": num_words, "words": vocab})
    for split, table in tables.items():
        tokens, offsets = words_to_sequences(words[split], vocab)
        save_npz(
            paths.split_file(paths.ENCODED, split, ".npz"),
            tokens=tokens,
            offsets=offsets,
            y=table.column("label").to_numpy(),
            id=table.column("id").to_numpy(),
            stars=table.column("stars").to_numpy(),
        )
        log.info("%s: %d reviews, %d tokens kept", split, len(offsets) - 1, len(tokens))


if __name__ == "__main__":
    run(main)
