"""prepare + tokenize + pad on the full archive against the tutorial's own data path.

The tutorial reads 50,000 extracted files, fits Keras' legacy Tokenizer and calls
pad_sequences, in one process. The pipeline runs its three stages as DVC would: three
processes, straight from the archive. Rounds alternate between the two so that load on this
shared machine hits both alike; medians are compared.

    IMDB_ARCHIVE=../shared/datasets/aclImdb_v1.tar.gz python -m benchmarks.data_stages [--rounds 3]
"""

import argparse
import json
import os
import sys
from pathlib import Path

from benchmarks.common import ROOT, WORK, Run, extract_labelled, median, scratch_repo, timed

STAGES = ("prepare", "tokenize", "pad")
REVIEWS = 50_000
RESULTS = ROOT / "reports" / "benchmark.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    archive = Path(os.environ.get("IMDB_ARCHIVE", ROOT / "data" / "raw" / "aclImdb_v1.tar.gz")).resolve()
    data_dir = extract_labelled(archive, WORK / "extracted")
    repo = scratch_repo("data_stages", archive)

    tutorial: list[Run] = []
    stages: dict[str, list[Run]] = {stage: [] for stage in STAGES}
    for round_ in range(1, args.rounds + 1):
        tutorial.append(
            timed([sys.executable, "-m", "benchmarks.tutorial", str(data_dir), "--data-only"], ROOT)
        )
        for stage in STAGES:
            stages[stage].append(timed([sys.executable, "-m", f"pipeline.{stage}"], repo))
        print(
            f"round {round_}: tutorial {tutorial[-1].seconds:.2f} s, pipeline "
            f"{sum(runs[-1].seconds for runs in stages.values()):.2f} s",
            file=sys.stderr,
        )

    base = median(tutorial)
    per_stage = {stage: median(runs) for stage, runs in stages.items()}
    pipeline_seconds = sum(r.seconds for r in per_stage.values())
    result = {
        "rounds": args.rounds,
        "tutorial_seconds": round(base.seconds, 3),
        "tutorial_peak_rss_mb": round(base.peak_rss_mb, 1),
        "pipeline_seconds": round(pipeline_seconds, 3),
        "ratio_pipeline_over_tutorial": round(pipeline_seconds / base.seconds, 3),
        "speedup": round(base.seconds / pipeline_seconds, 2),
        "stages": {
            stage: {
                "seconds": round(r.seconds, 3),
                "peak_rss_mb": round(r.peak_rss_mb, 1),
                "reviews_per_second": round(REVIEWS / r.seconds),
            }
            for stage, r in per_stage.items()
        },
    }
    print("| step | wall s | peak RSS MB | reviews/s |\n|---|---|---|---|")
    print(
        f"| tutorial: files + Tokenizer + pad_sequences | {base.seconds:.2f} | {base.peak_rss_mb:.0f} "
        f"| {REVIEWS / base.seconds:,.0f} |"
    )
    for stage, r in per_stage.items():
        print(f"| pipeline `{stage}` | {r.seconds:.2f} | {r.peak_rss_mb:.0f} | {REVIEWS / r.seconds:,.0f} |")
    print(
        f"| pipeline, three stages | {pipeline_seconds:.2f} | "
        f"{max(r.peak_rss_mb for r in per_stage.values()):.0f} | {REVIEWS / pipeline_seconds:,.0f} |"
    )
    print(
        f"\npipeline / tutorial = {result['ratio_pipeline_over_tutorial']} "
        f"({result['speedup']}x faster); target <= 0.5"
    )
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**existing, "data_stages": result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
