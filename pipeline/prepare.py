"""Stage `prepare`: stream the archive into one Parquet file per split of cleaned reviews.

Columns: id, stars (from `<id>_<stars>.txt`), label (pos 1, neg 0) and text. Rows are
sorted (positives first, then by id), so the same reviews give byte-identical files.
"""

import html
import logging
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import params, paths
from pipeline.archive import iter_reviews
from pipeline.errors import PipelineError, run
from pipeline.files import atomic_path, require, write_json

log = logging.getLogger("prepare")

TAG = re.compile(r"<[^>]+>")  # the tutorial's pattern
SCHEMA = pa.schema([("id", pa.int32()), ("stars", pa.int8()), ("label", pa.int8()), ("text", pa.string())])


def clean_text(raw: str) -> str:
    """Strip HTML tags as the tutorial does, but leave a space so `end.<br />The` stays two words;
    then decode entities (`&amp;` -> `&`)."""
    return html.unescape(TAG.sub(" ", raw))


def read_splits(archive: Path) -> tuple[dict[str, list[dict]], dict[str, Counter]]:
    """Cleaned rows per split, sorted, and per-split counts for the prepare report."""
    rows: dict[str, list[dict]] = {split: [] for split in paths.SPLITS}
    counts: dict[str, Counter] = {split: Counter() for split in paths.SPLITS}
    for review in iter_reviews(archive):
        tally = counts[review.split]
        try:
            raw = review.data.decode("utf-8")
        except UnicodeDecodeError:
            raw = review.data.decode("utf-8", errors="replace")
            tally["invalid_utf8"] += 1
            log.warning("%s: not valid UTF-8; undecodable bytes replaced by U+FFFD", review.name)
        text = clean_text(raw)
        if not text.strip():
            tally["empty"] += 1
            log.warning("%s: empty review", review.name)
        tally["pos" if review.label else "neg"] += 1
        rows[review.split].append({"id": review.id, "stars": review.stars, "label": review.label, "text": text})
    for split_rows in rows.values():
        split_rows.sort(key=lambda row: (-row["label"], row["id"]))
    return rows, counts


def check_counts(archive: Path, counts: dict[str, Counter], expected: int) -> None:
    for split, tally in counts.items():
        for folder in ("pos", "neg"):
            if not tally[folder]:
                raise PipelineError(f"{archive}: no reviews in aclImdb/{split}/{folder}/")
        total = tally["pos"] + tally["neg"]
        if expected and total != expected:
            raise PipelineError(
                f"{archive}: {split} has {total} reviews, expected {expected}"
                " (prepare.reviews_per_split; 0 accepts any count)"
            )


def report(tally: Counter) -> dict[str, int]:
    keys = ("pos", "neg", "invalid_utf8", "empty")
    return {"reviews": tally["pos"] + tally["neg"], **{key: tally[key] for key in keys}}


def write_parquet(path: Path, rows: list[dict]) -> None:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def main() -> None:
    expected = params.load()["prepare"]["reviews_per_split"]
    archive = require(paths.ARCHIVE)
    rows, counts = read_splits(archive)
    check_counts(archive, counts, expected)
    for split, split_rows in rows.items():
        write_parquet(paths.split_file(paths.PREPARED, split, ".parquet"), split_rows)
        log.info("%s: %d reviews %s", split, len(split_rows), dict(counts[split]))
    write_json(paths.PREPARE_REPORT, {split: report(tally) for split, tally in counts.items()})


if __name__ == "__main__":
    run(main)
