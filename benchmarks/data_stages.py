"""prepare + encode + pad on the full archive against the tutorial's own data path.

The tutorial reads 50,000 extracted files, fits Keras' legacy Tokenizer and calls
pad_sequences, in one process. The pipeline runs its three stages as DVC would: three
processes, straight from the archive. Rounds alternate between the two, the order flipped each
round, so that load on this shared machine hits both alike; medians are compared.
"""

import sys
from pathlib import Path

from benchmarks.common import ROOT, Run, alternating, median, scratch_repo, timed

STAGES = ("prepare", "encode", "pad")
REVIEWS = 50_000


def measure(archive: Path, data_dir: Path, rounds: int) -> dict:
    repo = scratch_repo("data_stages", archive)
    stages: dict[str, list[Run]] = {stage: [] for stage in STAGES}

    def pipeline() -> Run:
        for stage in STAGES:
            stages[stage].append(timed([sys.executable, "-m", f"pipeline.{stage}"], repo))
        runs = [runs[-1] for runs in stages.values()]
        return Run(sum(r.seconds for r in runs), max(r.peak_rss_mb for r in runs))

    tutorial, _ = alternating(
        "data (tutorial against prepare + encode + pad)",
        rounds,
        lambda: timed([sys.executable, "-m", "benchmarks.tutorial", str(data_dir), "--data-only"], ROOT),
        pipeline,
    )
    base = median(tutorial)
    per_stage = {stage: median(runs) for stage, runs in stages.items()}
    pipeline_seconds = sum(r.seconds for r in per_stage.values())
    return {
        "rounds": rounds,
        "tutorial_seconds": round(base.seconds, 3),
        "tutorial_peak_rss_mb": round(base.peak_rss_mb),
        "pipeline_seconds": round(pipeline_seconds, 3),
        "pipeline_peak_rss_mb": round(max(r.peak_rss_mb for r in per_stage.values())),
        "ratio_pipeline_over_tutorial": round(pipeline_seconds / base.seconds, 3),
        "stages": {stage: round(r.seconds, 3) for stage, r in per_stage.items()},
    }
