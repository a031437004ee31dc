"""Classify new reviews with the trained model: `python -m pipeline.predict "A fine film."`.

The arguments are one review; --file or stdin give one review per line, and every input
line gets one output line: `label<TAB>probability<TAB>review`. Reviews go through the
pipeline's own cleaning, tokenizing and padding, with the vocabulary and padding the model was
trained with (models/model.npz carries them) and the threshold `evaluate` last used (dvc.lock):
nothing of params.yaml, which may have changed since. A review with few known words tells the
model little: its label is marked with "?" and stderr says why.
Runs from any directory of the clone.
"""

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import BinaryIO

import numpy as np

from pipeline.lib import inference, paths, record
from pipeline.lib.cleaning import clean_text
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import require
from pipeline.lib.labels import NAMES
from pipeline.lib.padding import pad_sequences
from pipeline.lib.tokenizer import texts_to_sequences

log = logging.getLogger("predict")

FEW_WORDS = 3  # fewer known words than this, and the probability says little
NO_REVIEW = "no review to classify: pass text as arguments, --file FILE, or lines on stdin"


MAX_INPUT = 64 << 20  # bytes of input read at most: 10,000 times IMDb's longest review


def decode_lines(data: bytes, source: str) -> list[str]:
    """Every line of a text input, blank ones included, split on newlines only: a stray carriage
    return stays inside its review, so that answers line up with input lines. Binary data is
    refused rather than guessed at."""
    if b"\x00" in data:
        raise PipelineError(f"{source}: binary data (NUL bytes), expected text with one review per line")
    lines = []
    for number, line in enumerate(data.removesuffix(b"\n").split(b"\n"), start=1):
        line = line.removesuffix(b"\r")  # a Windows line end
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            log.warning("%s: line %d is not valid UTF-8; undecodable bytes read as U+FFFD", source, number)
            lines.append(line.decode("utf-8", errors="replace"))
    return lines


def read_bounded(stream: BinaryIO, source: str) -> bytes:
    data = stream.read(MAX_INPUT + 1)
    if len(data) > MAX_INPUT:
        raise PipelineError(f"{source}: more than {MAX_INPUT >> 20} MiB of input; classify it in parts")
    return data


def read_reviews(args: argparse.Namespace) -> list[str]:
    """The reviews, in input order; blank lines are kept so that outputs line up with inputs."""
    if args.reviews:
        review = " ".join(args.reviews)  # unquoted words are one review, not one review each
        if not review.strip():
            raise PipelineError('the review is empty: pass its text, e.g. "A fine film."')
        return [review]
    if args.file:
        try:
            with open(args.file, "rb") as file:
                reviews = decode_lines(read_bounded(file, args.file), args.file)
        except OSError as error:
            raise PipelineError(f"{args.file}: cannot read ({error.strerror})") from None
    else:
        reviews = [] if sys.stdin.isatty() else decode_lines(read_bounded(sys.stdin.buffer, "stdin"), "stdin")
    if not any(review.strip() for review in reviews):
        raise PipelineError(NO_REVIEW)
    return reviews


def printable(text: str) -> str:
    """The text with control characters written as escapes: an echoed review must not drive the
    terminal (ESC sequences retitle windows, move the cursor, hide what follows)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def repository_root(start: Path) -> Path:
    """The nearest directory at or above `start` with a dvc.yaml, as DVC finds it; else `start`."""
    return next((folder for folder in (start, *start.parents) if (folder / "dvc.yaml").is_file()), start)


def predict_proba(spec: dict, weights: dict[str, np.ndarray], texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Probability of a positive review for each raw text, and how many of its words the vocabulary
    knows; with the words, length and padding the model was trained with, which its spec carries."""
    tokens, offsets = texts_to_sequences([clean_text(text) for text in texts], spec["words"])
    x = pad_sequences(tokens, offsets, spec["maxlen"], spec["padding"], spec["truncating"])
    return inference.predict(spec, weights, x), np.diff(offsets)


def evaluated_threshold() -> float:
    """The threshold of the last `evaluate` run, as dvc.lock records it: the one its scores and
    predictions.csv used, not an edit of params.yaml that no run has made yet."""
    threshold = record.recorded_params("evaluate").get("evaluate", {}).get("threshold")
    if threshold is None:
        raise PipelineError(f"{paths.DVC_LOCK} records no evaluate.threshold: run `dvc repro` to evaluate the model")
    return float(threshold)  # DVC writes YAML 1.2: 1e-06 has no dot, and PyYAML reads it as a string


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.predict", description=__doc__.splitlines()[0])
    parser.add_argument("reviews", nargs="*", help="the text of one review (default: lines of --file or stdin)")
    parser.add_argument("-f", "--file", help="a text file with one review per line")
    args = parser.parse_args()
    reviews = read_reviews(args)  # before moving: --file is relative to where the user stands
    os.chdir(repository_root(Path.cwd()))
    # The NumPy copy of the model's weights: TensorFlow's start-up alone would take seconds.
    spec, weights = inference.load(require(paths.MODEL_WEIGHTS))
    threshold = evaluated_threshold()
    proba, known = predict_proba(spec, weights, reviews)
    for line, (review, probability, words) in enumerate(zip(reviews, proba, known, strict=True), start=1):
        if not review.strip():
            log.warning("line %d is blank: not classified", line)
            print("-\t-\t")
            continue
        flat = printable(" ".join(review.split()))  # one line per review, whatever its tabs and newlines
        preview = flat if len(flat) <= 60 else flat[:57] + "..."
        if np.isnan(probability):  # masking and mean pooling: no known word, no step to average
            log.warning("line %d: no word of it is in the vocabulary: not classified", line)
            print(f"-\t-\t{preview}")
            continue
        label = NAMES[int(probability >= threshold)]
        if words < FEW_WORDS:
            log.warning("line %d: only %d word(s) in the vocabulary; the label means little", line, words)
            label += "?"
        print(f"{label}\t{probability:.4f}\t{preview}")


if __name__ == "__main__":
    run(main)
