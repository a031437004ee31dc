"""What the CPU offers, as Linux reports it: the pinned kernels (pipeline/lib/blas.py for OpenBLAS,
pipeline/lib/backend.py for oneDNN) assume AVX2."""

import re
from pathlib import Path


def flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The instruction-set flags of /proc/cpuinfo; None where there is no such file (not Linux)."""
    try:
        found = re.search(r"^flags\s*:(.*)$", cpuinfo.read_text(), re.MULTILINE)
    except OSError:
        return None
    return set(found.group(1).split()) if found else set()
