"""NumPy and SciPy, imported with OpenBLAS's kernels pinned: the stages whose floating point runs
on OpenBLAS import this first (baseline's logistic regression, embed's word2vec).

OpenBLAS picks its kernels by the CPU it finds when it loads, and AVX-512's kernels sum in
another order than AVX2's: under OPENBLAS_CORETYPE=Haswell (what an AVX2 machine picks) the
baseline's probabilities in data/scores/baseline.csv differed in their last digits from this
AVX-512 machine's own, and word2vec's vectors differed outright. NumPy and SciPy each carry an
OpenBLAS, and each reads OPENBLAS_CORETYPE when it loads; it is set for these imports only and
then put back, so that the stage's own subprocesses, or a test that imports the stage, see the
environment they were given. (pipeline/lib/backend.py pins oneDNN's kernels for TensorFlow.)
"""

import os

from pipeline.lib import cpu

VARIABLE = "OPENBLAS_CORETYPE"
KERNELS = "Haswell"  # AVX2: what pipeline/lib/backend.py assumes of every x86-64 CPU since 2015


def _import_pinned() -> None:
    before = os.environ.get(VARIABLE)
    if "avx2" in (cpu.flags() or ()):  # forced onto a CPU without AVX2, the Haswell kernels would crash
        os.environ[VARIABLE] = KERNELS
    try:
        import numpy  # noqa: F401  loads NumPy's OpenBLAS
        import scipy.linalg.blas  # noqa: F401  and SciPy's
    finally:
        if before is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = before


_import_pinned()
