"""Outputs written under a temporary name and renamed, so a killed stage leaves nothing half-written."""

import contextlib
import io
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np

from pipeline.lib import record
from pipeline.lib.cli import PipelineError

# Zip entries carry a timestamp; a fixed one keeps .npz files byte-identical across runs.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

# Reviews per batch in prepare, encode, pad and baseline: memory per batch against Arrow's per-call
# cost. Not a parameter: it changes no output byte (tests run batches of a few reviews against one batch).
BATCH_REVIEWS = 8192


def remove(path: Path) -> None:
    """A file or a folder, whichever `path` is."""
    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)


def temporaries(path: Path) -> list[Path]:
    """The temporary siblings atomic_path makes for `path`, of this run or of a killed one."""
    return list(path.parent.glob(f".{path.stem}.tmp*{path.suffix}")) if path.parent.is_dir() else []


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; rename it onto `path` only if the block succeeds.

    The block may make a file or a folder there (DVCLive's logs): a folder replaces the old one whole.
    A process killed outright (SIGKILL) cannot clean up, so leftovers of earlier runs go first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in temporaries(path):
        remove(stale)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")  # keep the suffix: Keras checks it
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():
            shutil.rmtree(path)  # rename(2) cannot replace a folder that holds files
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            remove(tmp)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


class NpzWriter:
    """Entries of an uncompressed .npz, each written whole or chunk by chunk: a stage can stream an
    array larger than it wants to hold, and gets the bytes np.savez-style writing gives."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self._zf = zf

    def write(self, name: str, array: np.ndarray) -> None:
        array = np.asarray(array, order="C")  # not ascontiguousarray, which makes a 0-d array 1-d
        self.write_chunks(name, array.dtype, array.shape, [array])

    def write_chunks(self, name: str, dtype: np.dtype, shape: tuple[int, ...], chunks: Iterable[np.ndarray]) -> None:
        """An entry of this dtype and shape from C-ordered chunks; their sizes must add up to the shape."""
        if np.dtype(dtype).hasobject:  # as np.save with allow_pickle=False: no code in data files
            raise ValueError(f"{name}: object arrays cannot be saved when allow_pickle=False")
        header = io.BytesIO()
        descr = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(header, descr)
        expected = header.tell() + int(np.prod(shape)) * np.dtype(dtype).itemsize
        info = zipfile.ZipInfo(f"{name}.npy", _ZIP_EPOCH)
        info.file_size = expected  # known up front, as writestr knows it: same header bytes
        with self._zf.open(info, "w") as entry:
            entry.write(header.getvalue())
            for chunk in chunks:
                entry.write(np.ascontiguousarray(chunk, dtype=dtype).data)
        if info.file_size != expected:
            raise ValueError(f"{name}: chunks hold {info.file_size} bytes, the shape {shape} needs {expected}")


@contextlib.contextmanager
def npz_writer(path: Path) -> Iterator[NpzWriter]:
    """An .npz written atomically with fixed entry timestamps, so the same arrays give the same bytes."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        yield NpzWriter(zf)


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez with fixed entry timestamps, so the same arrays give the same bytes."""
    with npz_writer(path) as npz:
        for name, array in arrays.items():
            npz.write(name, array)


class Spill:
    """A 1-D array appended chunk by chunk to a temporary file, then read back in chunks: for an
    entry whose length is known only once it is all written."""

    def __init__(self, dtype: np.dtype, file: IO[bytes]) -> None:
        self.dtype, self.size, self._file = np.dtype(dtype), 0, file

    def append(self, chunk: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(chunk, dtype=self.dtype).data)
        self.size += len(chunk)

    def pieces(self, sizes: Iterable[int]) -> Iterator[np.ndarray]:
        """The array from its start, in consecutive pieces of the given sizes."""
        self._file.seek(0)
        for size in sizes:
            yield np.frombuffer(self._file.read(int(size) * self.dtype.itemsize), dtype=self.dtype)

    def chunks(self, items: int) -> Iterator[np.ndarray]:
        """The whole array in pieces of at most `items`."""
        return self.pieces([items] * (self.size // items) + [self.size % items])


@contextlib.contextmanager
def spill(dtype: np.dtype, folder: Path) -> Iterator[Spill]:
    """A Spill in an unnamed file beside the outputs (same disk); it goes with the process."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder) as file:
        yield Spill(dtype, file)


def fix_zip(path: Path, edit: Callable[[str, bytes], bytes] = lambda name, data: data) -> None:
    """Rewrite a zip file in place with fixed entry timestamps, each entry's bytes passed through
    `edit`: the same contents then give the same bytes, and the same md5 in dvc.lock."""
    with zipfile.ZipFile(path) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, _ZIP_EPOCH)
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            zf.writestr(fixed, edit(info.filename, data))


def damaged(path: Path, error: Exception) -> PipelineError:
    return PipelineError(f"{path}: damaged ({error}); restore it with `dvc checkout --relink --force {path}`")


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every entry of an .npz; zipfile checks each entry's CRC as it reads it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise damaged(path, error) from None


def _npy_header(stream: BinaryIO) -> tuple[np.dtype, tuple[int, ...]]:
    version = np.lib.format.read_magic(stream)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read(stream)
    if fortran_order:
        raise PipelineError(
            f"{getattr(stream, 'name', 'an .npz entry')}: Fortran-ordered, not written by this pipeline"
        )
    return dtype, shape


def map_npz(path: Path) -> dict[str, np.ndarray]:
    """Each entry of an uncompressed .npz memory-mapped read-only: the pages come from the file
    (the OS may drop and re-read them), not from a copy in the process's own memory. np.load's
    mmap_mode does not reach inside an .npz, hence the zip offsets read here.

    A mapped array skips zipfile's CRC check, so each entry's CRC is checked here: one pass over
    the bytes (6 ms for the full test split's 10 MB, warm page cache, with the mapping itself).
    """
    arrays = {}
    try:
        with zipfile.ZipFile(path) as zf, path.open("rb") as raw:
            for info in zf.infolist():
                if info.compress_type != zipfile.ZIP_STORED:
                    raise PipelineError(f"{path}: {info.filename} is compressed; cannot memory-map it")
                raw.seek(info.header_offset)
                local = raw.read(30)  # the local header: name and extra field lengths at bytes 26-29
                start = (
                    info.header_offset
                    + 30
                    + int.from_bytes(local[26:28], "little")
                    + int.from_bytes(local[28:30], "little")
                )
                raw.seek(start)
                dtype, shape = _npy_header(raw)
                name = info.filename.removesuffix(".npy")
                if info.file_size and zlib.crc32(np.memmap(path, np.uint8, "r", start, (info.file_size,))) != info.CRC:
                    raise zipfile.BadZipFile(f"bad CRC-32 for {info.filename}")
                if int(np.prod(shape)) == 0:
                    arrays[name] = np.zeros(shape, dtype)  # mmap cannot map zero bytes
                else:
                    arrays[name] = np.memmap(path, dtype, mode="r", offset=raw.tell(), shape=shape)
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise damaged(path, error) from None
    return arrays


def npz_chunks(path: Path, name: str, sizes: Iterable[int]) -> Iterator[np.ndarray]:
    """Entry `name` of an .npz read in consecutive 1-D pieces of the given sizes, never whole."""
    with zipfile.ZipFile(path) as zf, zf.open(f"{name}.npy") as stream:
        dtype, _ = _npy_header(stream)
        for size in sizes:
            data = stream.read(int(size) * dtype.itemsize)
            if len(data) != int(size) * dtype.itemsize:
                raise PipelineError(f"{path}: {name} is shorter than its offsets say; run `dvc repro`")
            yield np.frombuffer(data, dtype=dtype)


READ_BUFFER = 1 << 20  # bytes per read of a Parquet column chunk


def column_batches(path: Path, column: str, size: int) -> Iterator[list[Any]]:
    """One Parquet column's values in row order, `size` rows at a time: a consumer that works batch
    by batch never holds the whole column."""
    import pyarrow.parquet as pq  # here, so that the stages without Parquet do not import it

    # Without pre-buffering and with a read buffer, the reader holds a buffer, not whole row groups.
    reader = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER)
    for batch in reader.iter_batches(batch_size=size, columns=[column]):
        yield batch.column(0).to_pylist()


def column_at(path: Path, column: str, rows: Iterable[int]) -> dict[int, Any]:
    """The values of one Parquet column at the given row numbers, read a batch at a time: a few
    reviews' texts without the whole column in memory."""
    import pyarrow.parquet as pq  # here, so that the stages without Parquet do not import it

    wanted, found, first = sorted({int(row) for row in rows}), {}, 0
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(columns=[column]):
        for row in wanted[len(found) :]:
            if row >= first + len(batch):
                break
            found[row] = batch.column(0)[row - first].as_py()
        first += len(batch)
    return found


def require(path: Path) -> Path:
    """Fail with one line, not a traceback, when an input of a stage is missing, naming the DVC
    command that brings it back."""
    if not path.exists():
        raise PipelineError(f"{path}: not found; {record.how_to_restore(path)}")
    return path
