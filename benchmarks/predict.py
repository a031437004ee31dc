"""`python -m pipeline.predict "one review"`, cold, against the Keras route it replaced (issue #13).

Both run in the same trained scratch repository, in alternating rounds so that load on this
shared machine hits both alike; medians are compared. Both must print the same probability.
"""

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import ROOT, alternating, median, timed

REVIEW = "A fine film: the plot was moving and the acting superb, though the ending dragged on."
NUMPY = [sys.executable, "-m", "pipeline.predict", REVIEW]
KERAS = [sys.executable, "-m", "benchmarks.keras_predict", REVIEW]
ENV = {"PYTHONPATH": str(ROOT)}  # benchmarks/ from here; pipeline/ from the repository, first on sys.path


def probability(args: list[str], repo: Path) -> str:
    out = subprocess.run(args, cwd=repo, env={**os.environ, **ENV}, capture_output=True, text=True, check=True)
    return out.stdout.split("\t")[1] if "\t" in out.stdout else out.stdout.strip()


def measure(repo: Path, rounds: int = 5) -> dict:
    fast, keras = probability(NUMPY, repo), probability(KERAS, repo)
    if fast != keras:
        raise SystemExit(f"predict printed {fast}, Keras {keras}")
    keras_runs, numpy_runs = alternating(
        "predict (Keras route against NumPy)", rounds, lambda: timed(KERAS, repo, ENV), lambda: timed(NUMPY, repo, ENV)
    )
    numpy_run, keras_run = median(numpy_runs), median(keras_runs)
    return {
        "rounds": rounds,
        "seconds": round(numpy_run.seconds, 3),
        "peak_rss_mb": round(numpy_run.peak_rss_mb),
        "keras_route_seconds": round(keras_run.seconds, 3),
        "keras_route_peak_rss_mb": round(keras_run.peak_rss_mb),
        "ratio_over_keras_route": round(numpy_run.seconds / keras_run.seconds, 3),
    }
