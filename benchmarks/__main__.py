"""All benchmarks in one invocation on the full archive; writes reports/benchmark.json and
prints the tables of docs/benchmarks.md. About 25 minutes on 2 cores; `--only PART ...` runs some parts
(their results replace those parts in reports/benchmark.json, the others are kept).

    IMDB_ARCHIVE=../shared/datasets/aclImdb_v1.tar.gz python -m benchmarks [--rounds 3] [--only cold]
    IMDB_ARCHIVE=... python -m benchmarks --only scaling [--before <git revision>]
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from benchmarks import data_stages, pipeline_runs, predict, report, scaling
from benchmarks.common import WORK, extract_labelled

RESULTS = report.RESULTS


class Bench:
    """What the parts share: the archive, the extracted files, and a repository after a cold repro."""

    def __init__(self, archive: Path, rounds: int, before: str | None) -> None:
        self.archive, self.rounds, self.before = archive, rounds, before
        self.repo: Path | None = None

    @cached_property
    def data_dir(self) -> Path:
        return extract_labelled(self.archive, WORK / "extracted")

    def reproduced(self) -> Path:
        if self.repo is None:
            self.repo = pipeline_runs.reproduced_repo(self.archive)
        return self.repo


def data(b: Bench) -> dict:
    return data_stages.measure(b.archive, b.data_dir, b.rounds)


def cold(b: Bench) -> dict:
    result, b.repo = pipeline_runs.cold_against_tutorial(b.archive, b.data_dir, b.rounds)
    return result


def loop(b: Bench) -> dict:
    repo = b.reproduced()
    return {
        **pipeline_runs.warm(repo, b.archive),
        **pipeline_runs.after_epochs_edit(repo, b.archive),
        **pipeline_runs.exp_run(repo, b.archive),
    }


def stages(b: Bench) -> dict:
    return pipeline_runs.per_stage(b.reproduced(), b.archive)


def training(b: Bench) -> dict:
    return pipeline_runs.training(b.reproduced())


def one_review(b: Bench) -> dict:
    return predict.measure(b.reproduced())


def sizes(b: Bench) -> dict:
    return scaling.measure(b.archive, b.rounds, b.before)


# In the order they run; each writes results[name].
PARTS: dict[str, Callable[[Bench], dict]] = {
    "data": data,
    "cold": cold,
    "loop": loop,
    "stages": stages,
    "training": training,
    "predict": one_review,
    "scaling": sizes,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds against the tutorial")
    parser.add_argument("--only", nargs="+", choices=list(PARTS), help="run these parts alone")
    parser.add_argument("--before", metavar="REV", help="scaling: also time this git revision's data stages at 1x")
    args = parser.parse_args()
    archive = os.environ.get("IMDB_ARCHIVE")
    if not archive:
        sys.exit("set IMDB_ARCHIVE=/path/to/aclImdb_v1.tar.gz (the full archive)")
    bench = Bench(Path(archive).resolve(), args.rounds, args.before)
    kept = json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
    results = {name: kept[name] for name in PARTS if name in kept}  # the other parts' last results
    started = time.perf_counter()
    for name, part in PARTS.items():
        if not args.only or name in args.only:
            results[name] = part(bench)
    results["seconds"] = round(time.perf_counter() - started)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(report.report(results))  # `make docs` writes them into docs/benchmarks.md


if __name__ == "__main__":
    main()
