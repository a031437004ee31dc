"""All benchmarks in one invocation on the full archive; writes reports/benchmark.json and
prints the README's tables. About 25 minutes on 2 cores; `--only PART ...` runs some parts
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

from benchmarks import data_stages, pipeline_runs, predict, scaling
from benchmarks.common import ROOT, WORK, extract_labelled

RESULTS = ROOT / "reports" / "benchmark.json"


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
    print(report(results, args.only or list(PARTS)))


def report(r: dict, parts: list[str]) -> str:
    tables = {
        "data": lambda: data_stages.table(r["data"]),
        "cold": lambda: "\n".join(
            [
                "| run | wall s | against |",
                "|---|---|---|",
                f"| tutorial script, 10 epochs (baseline) | {r['cold']['tutorial_script_seconds']:.1f} | |",
                f"| cold `dvc repro`, empty cache | {r['cold']['cold_repro_seconds']:.1f} "
                f"| **{r['cold']['ratio_cold_over_tutorial']}** x tutorial (target <= 0.7; medians of "
                f"{r['cold']['rounds']} alternating rounds) |",
            ]
        ),
        "loop": lambda: "\n".join(
            [
                "| run | wall s | against |",
                "|---|---|---|",
                f"| warm `dvc repro`, nothing changed | {r['loop']['warm_repro_seconds']:.2f} "
                f"| {r['loop']['warm_repro_seconds'] / r['loop']['dvc_startup_seconds']:.1f} x `dvc --version` "
                f"({r['loop']['dvc_startup_seconds']:.2f} s); target <= 1.5 s |",
                f"| `dvc repro` after editing `train.epochs` ({', '.join(r['loop']['edit_train_epochs_ran'])} ran) "
                f"| {r['loop']['edit_train_epochs_seconds']:.1f} | |",
                f"| `dvc exp run -S train.epochs={r['loop']['exp_run_epochs']}` "
                f"({', '.join(r['loop']['exp_run_ran'])} ran) | {r['loop']['exp_run_seconds']:.1f} | |",
            ]
        ),
        "stages": lambda: "\n".join(
            [
                "| stage | wall s | peak RSS MB | reviews/s | outside `fit` s |",
                "|---|---|---|---|---|",
                *(
                    f"| {name} | {s['seconds']:.2f} | {s['peak_rss_mb']} | {s['reviews_per_second']:,} "
                    f"| {s.get('outside_fit_seconds', '')} |"
                    for name, s in r["stages"].items()
                ),
            ]
        ),
        "training": lambda: "\n".join(
            [
                "| cell (default size) | first epoch s | s / epoch | samples/s | vs simple_rnn |",
                "|---|---|---|---|---|",
                *(
                    f"| {cell} | {t['first_epoch_seconds']:.1f} | {t['seconds_per_epoch']:.2f} "
                    f"| {t['samples_per_second']:,} "
                    f"| {t['seconds_per_epoch'] / r['training']['simple_rnn']['seconds_per_epoch']:.2f} x |"
                    for cell, t in r["training"].items()
                ),
            ]
        ),
        "predict": lambda: predict.table(r["predict"]),
        "scaling": lambda: scaling.table(r["scaling"]),
    }
    return "\n\n".join(tables[name]() for name in parts)


if __name__ == "__main__":
    main()
