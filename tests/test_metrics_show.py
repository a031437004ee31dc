"""`dvc metrics show` fits a 120-column terminal, and no score left `dvc metrics diff`.

The real `dvc metrics show` and `dvc metrics diff` run in a copy of this repository's dvc.yaml,
dvc.lock and committed reports. Before, it printed 23 columns, about 330 characters wide: the
review counts of reports/prepare.json beside the scores, and a column per key of DVCLive's
summary. Now the counts are a cached output (`dvc metrics show reports/prepare.json` shows them),
and `train` writes DVCLive's summary as a row per split, in the columns the test scores use.
"""

import json
from pathlib import Path

import pytest
from conftest import commit, committed_reports, dvc

WIDTH = 120
SCORES = ("accuracy", "loss", "precision", "recall", "f1", "roc_auc")
# Every metric of the old `dvc metrics show`, but the review counts: (file, key) -> (file, key) now.
MOVED = {
    **{(f, k): (f, k) for f in ("reports/metrics.json", "reports/baseline_metrics.json") for k in SCORES},
    ("reports/train/metrics.json", "train.accuracy"): ("reports/train/train.json", "accuracy"),
    ("reports/train/metrics.json", "train.loss"): ("reports/train/train.json", "loss"),
    ("reports/train/metrics.json", "parameters"): ("reports/train/train.json", "parameters"),
    ("reports/train/metrics.json", "step"): ("reports/train/train.json", "epochs"),  # step + 1
    ("reports/train/metrics.json", "eval.accuracy"): ("reports/train/validation.json", "accuracy"),
    ("reports/train/metrics.json", "eval.loss"): ("reports/train/validation.json", "loss"),
}
COUNTS = [f"{split}.{key}" for split in ("train", "test") for key in ("reviews", "pos", "neg", "invalid_utf8", "empty")]


@pytest.fixture
def metrics_repo(tmp_path: Path) -> Path:
    return committed_reports(tmp_path / "repo")


def test_metrics_show_fits_120_columns(metrics_repo: Path) -> None:
    shown = dvc(metrics_repo, "metrics", "show")
    widths = [len(line) for line in shown.splitlines()]
    assert max(widths) <= WIDTH, f"{max(widths)} characters wide:\n{shown}"
    header = shown.splitlines()[0].split()
    assert header == ["Path", *sorted({key for _, key in MOVED.values()})]
    assert not any(count in shown for count in COUNTS)
    # The counts are a command away, in the cached output (written here: a fresh clone has no cache).
    split = {"reviews": 25000, "pos": 12500, "neg": 12500, "invalid_utf8": 0, "empty": 0}
    (metrics_repo / "reports/prepare.json").write_text(json.dumps({"train": split, "test": split}))
    counts = dvc(metrics_repo, "metrics", "show", "reports/prepare.json")
    assert all(count in counts for count in COUNTS)


def test_every_score_is_still_a_metric(metrics_repo: Path) -> None:
    """Each metric of the old output has its place in the committed reports (tests/test_reports.py
    checks that train writes DVCLive's numbers there), and `dvc metrics diff` lists every one of
    them when they all change."""
    new = {path: json.loads((metrics_repo / path).read_text()) for path, _ in MOVED.values()}
    assert {(path, key) for path, data in new.items() for key in data} == set(MOVED.values())

    for path, data in new.items():  # another run: every number changes
        (metrics_repo / path).write_text(json.dumps({k: v + 1 for k, v in data.items()}))
    commit(metrics_repo, "another run")
    diff = json.loads(dvc(metrics_repo, "metrics", "diff", "HEAD~1", "HEAD", "--json"))
    listed = {(path, key) for path, changes in diff.items() for key in changes}
    assert listed == set(MOVED.values())
