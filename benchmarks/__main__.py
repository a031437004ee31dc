"""All benchmarks in one invocation on the full archive; writes reports/benchmark.json and
prints the README's tables. About 8 minutes on 2 cores, plus about 10 for the scaling benchmark.

    IMDB_ARCHIVE=../shared/datasets/aclImdb_v1.tar.gz python -m benchmarks [--rounds 2]
    IMDB_ARCHIVE=... python -m benchmarks --only scaling [--before <git revision>]

--only scaling runs that one and replaces only the "scaling" key of reports/benchmark.json.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from benchmarks import data_stages, pipeline_runs, scaling
from benchmarks.common import ROOT, WORK, extract_labelled

RESULTS = ROOT / "reports" / "benchmark.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds against the tutorial")
    parser.add_argument("--only", choices=["scaling"], help="run this benchmark alone")
    parser.add_argument("--before", metavar="REV", help="scaling: also time this git revision's data stages at 1x")
    args = parser.parse_args()
    archive = os.environ.get("IMDB_ARCHIVE")
    if not archive:
        sys.exit("set IMDB_ARCHIVE=/path/to/aclImdb_v1.tar.gz (the full archive)")
    archive_path = Path(archive).resolve()
    if args.only == "scaling":
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results["scaling"] = scaling.main(archive_path, args.rounds + 1, args.before)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        return
    started = time.perf_counter()
    data_dir = extract_labelled(archive_path, WORK / "extracted")

    results: dict = {"data_stages": data_stages.measure(archive_path, data_dir, args.rounds + 1)}
    cold, repo = pipeline_runs.cold_against_tutorial(archive_path, data_dir, args.rounds)
    results["pipeline"] = {
        **cold,
        **pipeline_runs.warm(repo, archive_path),
        **pipeline_runs.after_epochs_edit(repo, archive_path),
    }
    results["stages"] = pipeline_runs.per_stage(repo, archive_path)
    results["training"] = pipeline_runs.training(repo)
    results["scaling"] = scaling.main(archive_path, args.rounds + 1, args.before)
    results["benchmark_seconds"] = round(time.perf_counter() - started)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


def report(r: dict) -> str:
    p = r["pipeline"]
    lines = [
        data_stages.table(r["data_stages"]),
        "",
        "| run | wall s | against |",
        "|---|---|---|",
        f"| tutorial script, 10 epochs (baseline) | {p['tutorial_script_seconds']:.1f} | |",
        f"| cold `dvc repro`, empty cache | {p['cold_repro_seconds']:.1f} "
        f"| **{p['ratio_cold_over_tutorial']}** x tutorial (target <= 0.8) |",
        f"| warm `dvc repro`, nothing changed | {p['warm_repro_seconds']:.2f} "
        f"| {p['warm_repro_seconds'] / p['dvc_startup_seconds']:.1f} x `dvc --version` "
        f"({p['dvc_startup_seconds']:.2f} s); target <= 1.5 s |",
        f"| after editing `train.epochs` ({', '.join(p['edit_train_epochs_ran'])} ran) "
        f"| {p['edit_train_epochs_seconds']:.1f} "
        f"| {p['edit_train_epochs_seconds'] / p['cold_repro_seconds']:.2f} x cold |",
        "",
        "| stage | wall s | peak RSS MB | reviews/s |",
        "|---|---|---|---|",
        *(
            f"| {name} | {s['seconds']:.2f} | {s['peak_rss_mb']} | {s['reviews_per_second']:,} |"
            for name, s in r["stages"].items()
        ),
        "",
        "| cell (default size) | first epoch s | s / epoch | samples/s | vs simple_rnn |",
        "|---|---|---|---|---|",
        *(
            f"| {cell} | {t['first_epoch_seconds']:.1f} | {t['seconds_per_epoch']:.2f} | {t['samples_per_second']:,} "
            f"| {t['seconds_per_epoch'] / r['training']['simple_rnn']['seconds_per_epoch']:.2f} x |"
            for cell, t in r["training"].items()
        ),
        "",
        f"benchmark took {r['benchmark_seconds']} s",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
