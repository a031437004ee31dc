"""Stage `prepare`: stream the archive into one Parquet file per split of cleaned reviews.

Columns: id, stars (from `<id>_<stars>.txt`), label (pos 1, neg 0) and text. Rows are
sorted (positives first, then by id), so the same reviews give byte-identical files.

The sort is external, so memory stays bounded whatever the corpus: each run of RUN_REVIEWS
reviews is sorted and spilled to an unnamed temporary file (the last run stays in memory), then
the runs are merged one row group at a time, reading from each run only the rows it takes.
"""

import contextlib
import logging
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lib import params, paths
from pipeline.lib.archive import iter_reviews
from pipeline.lib.cleaning import clean_text
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import atomic_path, require, write_json
from pipeline.lib.labels import FOLDERS

log = logging.getLogger("prepare")

# What this stage reads of params.yaml; dvc.yaml's `params:` lists the same (tests/test_params.py).
PARAMS = ("prepare",)

SCHEMA = pa.schema([("id", pa.int32()), ("stars", pa.int8()), ("label", pa.int8()), ("text", pa.string())])
# Rows per Parquet row group: part of the files' bytes. pyarrow writes a table of up to 1Mi rows
# as one row group; 25,000 reviews fit in one either way, so IMDb's files are unchanged.
ROW_GROUP = 32768
PIECE = 256  # rows per record batch of a spilled run: the unit the merge reads
# Reviews per sorted run. The last run of a split stays in memory, so a split of up to this many
# reviews (IMDb's 25,000) is sorted in memory, as before, and never spilled.
RUN_REVIEWS = 32768


@dataclass
class Runs:
    """One split's sorted runs in an unnamed Arrow IPC file, but the last one in memory (`tail`);
    the runs' keys stay in memory."""

    file: IO[bytes]
    writer: pa.ipc.RecordBatchFileWriter
    sizes: list[int] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    ids: list[np.ndarray] = field(default_factory=list)
    pending: tuple[list, ...] = field(default_factory=lambda: ([], [], [], []))  # id, stars, label, text
    tail: pa.Table | None = None

    def sort(self) -> pa.Table:
        """The pending rows as a run, sorted (stable: ties keep archive order); its keys recorded."""
        table = pa.Table.from_arrays(
            [pa.array(column, kind.type) for column, kind in zip(self.pending, SCHEMA, strict=True)], schema=SCHEMA
        )
        ids, labels = table.column("id").to_numpy(), table.column("label").to_numpy()
        order = np.lexsort((ids, -labels.astype(np.int16)))
        self.sizes.append(len(order))
        self.labels.append(labels[order])
        self.ids.append(ids[order])
        self.pending = ([], [], [], [])
        return table.take(order)

    def spill(self) -> None:
        for batch in self.sort().to_batches(max_chunksize=PIECE):
            self.writer.write_batch(batch)

    def finish(self) -> None:
        if self.pending[0]:
            self.tail = self.sort()
        self.writer.close()


def spill_splits(archive: Path, files: dict[str, IO[bytes]], batch: int) -> tuple[dict[str, Runs], dict[str, Counter]]:
    """Cleaned rows per split as sorted runs of `batch` rows in `files`, and per-split counts."""
    runs = {split: Runs(file, pa.ipc.new_file(pa.PythonFile(file, mode="w"), SCHEMA)) for split, file in files.items()}
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
        ids, stars, labels, texts = runs[review.split].pending
        ids.append(review.id)
        stars.append(review.stars)
        labels.append(review.label)
        texts.append(text)
        if len(ids) >= batch:
            runs[review.split].spill()
    for split_runs in runs.values():
        split_runs.finish()
    return runs, counts


def merged(runs: Runs, row_group: int) -> Iterator[pa.Table]:
    """The runs' rows in sorted order, `row_group` rows at a time, each table one contiguous chunk.

    The global order is a stable sort of the runs in archive order and each run is sorted, so a
    row group takes a contiguous range of rows from each run: the merge reads those pieces only.
    """
    if not runs.sizes:
        return
    starts = np.concatenate([[0], np.cumsum(runs.sizes)])
    first_piece = np.concatenate([[0], np.cumsum([-(-size // PIECE) for size in runs.sizes])])
    labels, ids = np.concatenate(runs.labels), np.concatenate(runs.ids)
    order = np.lexsort((ids, -labels.astype(np.int16)))  # stable, as the one in-memory sort was
    run_of = np.repeat(np.arange(len(runs.sizes)), runs.sizes)
    spilled = len(runs.sizes) - (runs.tail is not None)
    reader = pa.ipc.open_file(pa.PythonFile(runs.file, mode="r")) if spilled else None
    last: dict[int, tuple[int, pa.RecordBatch]] = {}  # run -> (piece, batch) read last
    for begin in range(0, len(order), row_group):
        rows = order[begin : begin + row_group]
        by_run = np.argsort(run_of[rows], kind="stable")  # rows grouped by run, each group in run order
        grouped = rows[by_run]
        bounds = np.flatnonzero(np.diff(run_of[grouped])) + 1
        parts = []
        for group in np.split(grouped, bounds):
            run_index = int(run_of[group[0]])
            low, high = int(group[0] - starts[run_index]), int(group[-1] - starts[run_index]) + 1
            if run_index == spilled:  # the tail, in memory
                parts.extend(runs.tail.slice(low, high - low).to_batches())
                continue
            for piece in range(low // PIECE, (high - 1) // PIECE + 1):
                if last.get(run_index, (-1,))[0] != piece:
                    last[run_index] = (piece, reader.get_batch(int(first_piece[run_index]) + piece))
                offset = max(low - piece * PIECE, 0)
                parts.append(last[run_index][1].slice(offset, min(high - piece * PIECE, PIECE) - offset))
        gathered = pa.Table.from_batches(parts, SCHEMA)
        if len(bounds):  # rows of several runs: interleave them
            inverse = np.empty_like(by_run)
            inverse[by_run] = np.arange(len(by_run))
            gathered = gathered.take(inverse)
        yield gathered.combine_chunks()


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


def write_parquet(path: Path, tables: Iterator[pa.Table]) -> None:
    """One row group per table: each is written as pq.write_table writes a one-chunk table."""
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        for table in tables:
            writer.write_table(table)


def prepare(archive: Path, out: Path, expected: int, batch: int = RUN_REVIEWS, row_group: int = ROW_GROUP) -> dict:
    """Write out/{train,test}.parquet from the archive; return the per-split counts of the report."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        # Unnamed files beside the outputs: a killed stage leaves nothing behind.
        files = {split: stack.enter_context(tempfile.TemporaryFile(dir=out.parent)) for split in paths.SPLITS}
        runs, counts = spill_splits(archive, files, batch)
        check_counts(archive, counts, expected)
        for split, split_runs in runs.items():
            write_parquet(paths.split_file(out, split, ".parquet"), merged(split_runs, row_group))
            log.info("%s: %d reviews %s", split, sum(split_runs.sizes), dict(counts[split]))
    return {split: report(tally) for split, tally in counts.items()}


def main() -> None:
    expected = params.load(PARAMS)["prepare"]["reviews_per_split"]
    write_json(paths.PREPARE_REPORT, prepare(require(paths.ARCHIVE), paths.PREPARED, expected))


if __name__ == "__main__":
    run(main)
