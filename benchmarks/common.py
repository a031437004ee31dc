"""Helpers: time a command as a child process with its own peak RSS, and lay out a scratch repo."""

import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float
    log: str = ""  # the child's stderr


def timed(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Wall time and peak RSS of one child process (os.wait4 gives that child's own rusage).

    stderr goes to a file, not a pipe that a chatty child could fill and block on.
    """
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(args, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        stderr.seek(0)
        log = stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(args)} failed:\n{log[-3000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, log)


def alternating(
    name: str, rounds: int, base: Callable[[], Run], ours: Callable[[], Run]
) -> tuple[list[Run], list[Run]]:
    """`rounds` runs of each, the order flipped each round, so that load on this shared machine
    falls on both alike; each round is printed as it ends."""
    bases: list[Run] = []
    runs: list[Run] = []
    for round_ in range(1, rounds + 1):
        for measure, into in ((base, bases), (ours, runs)) if round_ % 2 else ((ours, runs), (base, bases)):
            into.append(measure())
        print(f"{name} round {round_}: {bases[-1].seconds:.2f} s against {runs[-1].seconds:.2f} s", file=sys.stderr)
    return bases, runs


def median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), max(r.peak_rss_mb for r in runs))


def extract_labelled(archive: Path, target: Path) -> Path:
    """The tutorial's starting point: the labelled reviews extracted to disk (not timed)."""
    folder = target / "aclImdb"
    if not (folder / "test" / "neg").is_dir():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        with tarfile.open(archive) as tar:
            members = [m for m in tar if m.isfile() and m.name.split("/")[2:3] in (["pos"], ["neg"])]
            tar.extractall(target, members=members, filter="data")
    return folder


def copy_project(name: str) -> Path:
    """A new folder under benchmarks/work/ with the pipeline's code, dvc.yaml and params.yaml."""
    repo = WORK / name
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    shutil.copytree(ROOT / "pipeline", repo / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    for file in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / file, repo)
    return repo


def scratch_repo(name: str, archive: Path) -> Path:
    """The project with the archive in place of `download`, for running stages directly."""
    repo = copy_project(name)
    (repo / "data" / "raw").mkdir(parents=True)
    shutil.copy(archive, repo / "data" / "raw" / "aclImdb_v1.tar.gz")
    return repo
