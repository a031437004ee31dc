"""Outputs written under a temporary name and renamed, so a killed stage leaves nothing half-written."""

import contextlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.lib.cli import PipelineError

# Zip entries carry a timestamp; a fixed one keeps .npz files byte-identical across runs.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; rename it onto `path` only if the block succeeds.

    A process killed outright (SIGKILL) cannot clean up, so leftovers of earlier runs go first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.stem}.tmp*{path.suffix}"):
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")  # keep the suffix: Keras checks it
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez with fixed entry timestamps, so the same arrays give the same bytes."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", _ZIP_EPOCH), buffer.getvalue())


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


def load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def require(path: Path) -> Path:
    """Fail with one line, not a traceback, when an input of a stage is missing."""
    if not path.exists():
        raise PipelineError(f"{path}: not found; run `dvc repro` to build it")
    return path
