"""Stage `prepare`: stream the archive into one Parquet file per split of cleaned reviews.

Columns: id, stars (from `<id>_<stars>.txt`), label (pos 1, neg 0) and text. Rows are
sorted (positives first, then by id), so the same reviews give byte-identical files.
"""

import logging
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lib import params, paths
from pipeline.lib.archive import iter_reviews
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import atomic_path, require, write_json
from pipeline.lib.labels import FOLDERS
from pipeline.lib.text import clean_text

log = logging.getLogger("prepare")

SCHEMA = pa.schema([("id", pa.int32()), ("stars", pa.int8()), ("label", pa.int8()), ("text", pa.string())])


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
        tally[FOLDERS[review.label]] += 1
        rows[review.split].append({"id": review.id, "stars": review.stars, "label": review.label, "text": text})
    for split_rows in rows.values():
        split_rows.sort(key=lambda row: (-row["label"], row["id"]))
    return rows, counts


def check_counts(archive: Path, counts: dict[str, Counter], expected: int) -> None:
    for split, tally in counts.items():
        for folder in FOLDERS:
            if not tally[folder]:
                raise PipelineError(f"{archive}: no reviews in aclImdb/{split}/{folder}/")
        total = sum(tally[folder] for folder in FOLDERS)
        if expected and total != expected:
            raise PipelineError(
                f"{archive}: {split} has {total} reviews, expected {expected}"
                " (prepare.reviews_per_split; 0 accepts any count)"
            )


def report(tally: Counter) -> dict[str, int]:
    keys = (*reversed(FOLDERS), "invalid_utf8", "empty")  # positives first, as the rows
    return {"reviews": sum(tally[folder] for folder in FOLDERS), **{key: tally[key] for key in keys}}


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
