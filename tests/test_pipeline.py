"""End to end: the real `dvc repro` in a fresh git repository on a tiny archive, 2 epochs."""

import json
import re
import sys
from pathlib import Path

import yaml
from conftest import dvc, ran, run_cmd

METRIC_KEYS = {"accuracy", "loss", "precision", "recall", "f1", "roc_auc"}
STAGES = ["check", "download", "prepare", "encode", "embed", "pad", "train", "evaluate", "baseline"]


def test_repro_builds_everything_then_caches(dvc_repo: Path) -> None:
    assert sorted(ran(dvc(dvc_repo, "repro"))) == sorted(STAGES)

    for name in ("metrics.json", "baseline_metrics.json"):
        scores = json.loads((dvc_repo / "reports" / name).read_text())
        assert set(scores) == METRIC_KEYS
        assert all(0 <= value <= 1 for key, value in scores.items() if key != "loss")
    for plot in (
        "train/plots/metrics/train/accuracy.tsv",
        "train/plots/metrics/eval/loss.tsv",
        "plots/model/confusion.csv",
        "plots/model/roc.csv",
        "plots/model/precision_recall.csv",
        "plots/model/stars.csv",
        "plots/model/length.csv",
        "plots/model/headline.csv",
        "plots/baseline/roc.csv",
        "plots/baseline/headline.csv",
        "figures/history.png",
        "figures/confusion_matrix.png",
        "figures/roc.png",
    ):
        assert (dvc_repo / "reports" / plot).stat().st_size > 0, plot
    epochs = (dvc_repo / "reports/train/plots/metrics/eval/accuracy.tsv").read_text().splitlines()
    assert len(epochs) == 1 + 2
    stars = (dvc_repo / "reports/plots/model/stars.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in stars[1:]] == ["1", "2", "3", "4", "7", "8", "9", "10"]
    # h = 4 units, x = 8 embedding: (4 + 8) * 4 + 4
    assert "rnn_1: 52 = formula 52  OK" in (dvc_repo / "reports/model_summary.txt").read_text()
    predictions = (dvc_repo / "reports/predictions.csv").read_text().splitlines()
    assert predictions[0] == "id,stars,true,predicted,probability,tokens,text" and len(predictions) == 4

    shown = dvc(dvc_repo, "metrics", "show", "--json")
    assert "reports/metrics.json" in shown and "reports/baseline_metrics.json" in shown
    assert ran(dvc(dvc_repo, "repro")) == []

    out = run_cmd([sys.executable, "-m", "pipeline.predict", "wonderful superb brilliant film"], dvc_repo).stdout
    assert re.fullmatch(r"(positive|negative)\t0\.\d{4}\twonderful superb brilliant film\n", out)

    params = yaml.safe_load((dvc_repo / "params.yaml").read_text())
    params["pad"]["maxlen"] = 12
    (dvc_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert ran(dvc(dvc_repo, "repro")) == ["check", "pad", "train", "evaluate"]
    assert "up to date" in dvc(dvc_repo, "status")


def test_data_stages_are_byte_identical_across_clean_runs(dvc_repo: Path) -> None:
    dvc(dvc_repo, "repro", "pad")
    lock = yaml.safe_load((dvc_repo / "dvc.lock").read_text())
    first = {stage: lock["stages"][stage]["outs"] for stage in ("prepare", "encode", "pad")}
    dvc(dvc_repo, "repro", "--force", "pad")
    lock = yaml.safe_load((dvc_repo / "dvc.lock").read_text())
    assert {stage: lock["stages"][stage]["outs"] for stage in ("prepare", "encode", "pad")} == first
