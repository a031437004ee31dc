"""Classify new reviews with the trained model: `python -m pipeline.predict "A fine film."`.

Reviews come as arguments, from --file (one per line) or as lines on stdin. They go through
the pipeline's own cleaning, tokenizing and padding functions, with the saved vocabulary.
"""

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.lib import params, paths
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import require
from pipeline.lib.labels import NAMES
from pipeline.lib.text import clean_text, load_vocabulary, pad_sequences, texts_to_sequences

if TYPE_CHECKING:
    import keras


def decode_lines(data: bytes, source: str) -> list[str]:
    """Non-empty lines of a text input; binary data is refused rather than guessed at."""
    if b"\x00" in data:
        raise PipelineError(f"{source}: binary data (NUL bytes), expected text with one review per line")
    return [line for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]


def read_reviews(args: argparse.Namespace) -> list[str]:
    if args.reviews:
        reviews = [review for review in args.reviews if review.strip()]
    elif args.file:
        try:
            reviews = decode_lines(Path(args.file).read_bytes(), args.file)
        except OSError as error:
            raise PipelineError(f"{args.file}: cannot read ({error.strerror})") from None
    else:
        reviews = [] if sys.stdin.isatty() else decode_lines(sys.stdin.buffer.read(), "stdin")
    if not reviews:
        raise PipelineError("no review to classify: pass text as arguments, --file FILE, or lines on stdin")
    return reviews


def predict_proba(model: "keras.Model", texts: list[str], vocab: list[str], pad: dict) -> np.ndarray:
    """Probability of a positive review for each raw text, through the pipeline's own steps."""
    tokens, offsets = texts_to_sequences([clean_text(text) for text in texts], vocab)
    x = pad_sequences(tokens, offsets, model.input_shape[1], pad["padding"], pad["truncating"])
    return model.predict(x, batch_size=1000, verbose=0).ravel()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.predict", description=__doc__.splitlines()[0])
    parser.add_argument("reviews", nargs="*", help="review texts (default: lines of --file or stdin)")
    parser.add_argument("-f", "--file", help="a text file with one review per line")
    args = parser.parse_args()
    p = params.load()
    reviews = read_reviews(args)
    vocab = load_vocabulary()
    require(paths.MODEL)
    from pipeline.lib.backend import keras  # only now: bad input fails without TensorFlow's start-up

    model = keras.saving.load_model(paths.MODEL, compile=False)  # inference only
    for review, proba in zip(reviews, predict_proba(model, reviews, vocab, p["pad"]), strict=True):
        label = NAMES[int(proba >= p["evaluate"]["threshold"])]
        flat = " ".join(review.split())  # one output line per review, whatever its tabs and newlines
        preview = flat if len(flat) <= 60 else flat[:57] + "..."
        print(f"{label}\t{proba:.4f}\t{preview}")


if __name__ == "__main__":
    run(main)
