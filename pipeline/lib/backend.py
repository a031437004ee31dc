"""TensorFlow and Keras, imported once, quietly, pinned so that a commit trains the same weights
on every x86-64 machine with AVX2.

TensorFlow's float32 matrix products run on oneDNN's sgemm even with TF_ENABLE_ONEDNN_OPTS=0,
and oneDNN picks its kernels by the instruction set it finds at run time (AVX-512 on one
machine, AVX2 on another). Different kernels sum in different orders, and the tutorial's
over-fitting model turns those last bits into points of accuracy (0.8138 against 0.8106 for
the same commit). TensorFlow also turns oneDNN's graph rewrites on for some CPUs and off for
others. Both are pinned here, before TensorFlow loads. Thread counts do not change the
results (1, 2 and 8 intra-op threads give the same bytes), so they are left free.
"""

import contextlib
import logging
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from pipeline.lib import cpu
from pipeline.lib.cli import debug_enabled

PINNED = {
    "TF_ENABLE_ONEDNN_OPTS": "0",  # oneDNN's graph rewrites off, whatever the CPU
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # the same sgemm kernels on AVX2, AVX-512 and AMX machines
}


@contextlib.contextmanager
def _without_scikit_learn() -> Iterator[None]:
    """Keras imports scikit-learn at start-up, 1.5 s here, for wrappers the pipeline never uses;
    it treats a failed import as "not installed". A stage that needs scikit-learn imports it itself."""
    if "sklearn" in sys.modules:
        yield
        return
    sys.modules["sklearn"] = None  # `import sklearn` now raises ImportError
    try:
        yield
    finally:
        del sys.modules["sklearn"]


def _import_keras():
    """Import Keras (and TensorFlow) with PINNED set and without the C++ start-up chatter.

    TensorFlow prints oneDNN and CUDA notices through absl before its logging is set up, so
    TF_CPP_MIN_LOG_LEVEL cannot hide them; stderr is closed for the import alone instead.
    With PIPELINE_DEBUG=1 everything is shown.
    """
    os.environ.update(PINNED)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if debug_enabled():
        with _without_scikit_learn():
            import keras

        return keras
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        with _without_scikit_learn():
            import keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras


def exit_without_teardown() -> NoReturn:
    """End a stage that has finished: Python's teardown of TensorFlow's modules and threads takes
    1.3 s here, after every output is written, closed and renamed into place."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def portability_warning(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """Why this machine's numbers may differ from the committed ones, or None."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"this is a {platform.machine()} CPU: results are pinned for x86-64 and will differ from dvc.lock's"
    found = cpu.flags(cpuinfo)  # None: not Linux, no cheap way to tell; every x86-64 CPU since 2015 has AVX2
    if found and "avx2" not in found:
        return "this CPU has no AVX2: oneDNN falls back to other kernels, so results will differ from dvc.lock's"
    return None


keras = _import_keras()
