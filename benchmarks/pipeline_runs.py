"""The whole pipeline as users pay for it: cold, warm, after a parameter edit, and per stage.

IMDB_ARCHIVE=../shared/datasets/aclImdb_v1.tar.gz python -m benchmarks.pipeline_runs
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from benchmarks.common import BIN, ROOT, Run, alternating, copy_project, median, timed

STAGES = ("download", "prepare", "encode", "pad", "train", "evaluate", "baseline")
ALL_STAGES = sorted(("check", *STAGES))  # what a cold `dvc repro` runs; `check` only validates params.yaml
REVIEWS = {
    "download": 50_000,
    "prepare": 50_000,
    "encode": 50_000,
    "pad": 50_000,
    "train": 25_000,
    "evaluate": 25_000,
    "baseline": 50_000,
}  # reviews each stage reads


def git_dvc_repo(name: str) -> Path:
    """A fresh git + DVC repository with the pipeline's code and params: an empty cache."""
    repo = copy_project(name)
    for args in (
        ["git", "init", "-q"],
        [sys.executable, "-m", "dvc", "init", "-q"],
        [sys.executable, "-m", "dvc", "config", "core.analytics", "false"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "bench"],
    ):
        subprocess.run(args, cwd=repo, check=True)
    return repo


def repro(repo: Path, archive: Path) -> tuple[Run, list[str]]:
    """Time `dvc repro`; also say which stages ran."""
    log = repo / "repro.log"
    env = {"IMDB_ARCHIVE": str(archive), "DVC_NO_ANALYTICS": "1"}
    run = timed(["sh", "-c", f"'{BIN / 'dvc'}' repro > '{log}' 2>&1"], repo, env)
    return run, re.findall(r"Running stage '(\w+)'", log.read_text())


def cold_against_tutorial(archive: Path, data_dir: Path, rounds: int) -> tuple[dict, Path]:
    """Medians of alternating rounds, the order flipped each round, so load on this shared machine
    falls on both alike. Also returns the last round's repository, reproduced."""
    repos: list[Path] = []

    def cold_repro() -> Run:
        repos.append(git_dvc_repo("cold"))
        run, ran = repro(repos[-1], archive)
        assert sorted(ran) == ALL_STAGES, ran
        return run

    tutorial, pipeline = alternating(
        "cold (tutorial against dvc repro)",
        rounds,
        lambda: timed([sys.executable, "-m", "benchmarks.tutorial", str(data_dir)], ROOT),
        cold_repro,
    )
    script, cold = median(tutorial), median(pipeline)
    return {
        "rounds": rounds,
        "tutorial_script_seconds": round(script.seconds, 2),
        "cold_repro_seconds": round(cold.seconds, 2),
        "ratio_cold_over_tutorial": round(cold.seconds / script.seconds, 3),
        "tutorial_rounds_seconds": [round(r.seconds, 2) for r in tutorial],
        "cold_rounds_seconds": [round(r.seconds, 2) for r in pipeline],
    }, repos[-1]


def reproduced_repo(archive: Path) -> Path:
    """A repository after one (untimed) cold `dvc repro`, for the parts that start from there."""
    repo = git_dvc_repo("cold")
    _, ran = repro(repo, archive)
    assert sorted(ran) == ALL_STAGES, ran
    return repo


def warm(repo: Path, archive: Path, runs: int = 5) -> dict:
    results = [repro(repo, archive) for _ in range(runs)]
    assert all(ran == [] for _, ran in results)
    dvc_version = [timed([str(BIN / "dvc"), "--version"], repo) for _ in range(runs)]
    return {
        "warm_repro_seconds": round(median([r for r, _ in results]).seconds, 3),
        "dvc_startup_seconds": round(median(dvc_version).seconds, 3),
    }


def after_epochs_edit(repo: Path, archive: Path) -> dict:
    params_file = repo / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    params["train"]["epochs"] -= 1
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    run, ran = repro(repo, archive)
    params_file.write_text(original)
    repro(repo, archive)  # back to the committed state (from the run-cache)
    return {"edit_train_epochs_seconds": round(run.seconds, 2), "edit_train_epochs_ran": ran}


def exp_run(repo: Path, archive: Path) -> dict:
    """The experiment loop: `dvc exp run -S train.epochs=<epochs - 2>`, one changed parameter and
    nothing else (a value no earlier run cached, so `train` really runs)."""
    epochs = yaml.safe_load((repo / "params.yaml").read_text())["train"]["epochs"] - 2
    log = repo / "exp.log"
    env = {"IMDB_ARCHIVE": str(archive), "DVC_NO_ANALYTICS": "1"}
    params_file = repo / "params.yaml"
    original = params_file.read_text()
    command = f"'{BIN / 'dvc'}' exp run -S train.epochs={epochs} > '{log}' 2>&1"
    run = timed(["sh", "-c", command], repo, env)
    ran = re.findall(r"Running stage '(\w+)'", log.read_text())
    assert "train" in ran, log.read_text()[-2000:]
    params_file.write_text(original)
    repro(repo, archive)  # the workspace holds the experiment: back to the committed state (run-cache)
    return {"exp_run_seconds": round(run.seconds, 2), "exp_run_ran": ran, "exp_run_epochs": epochs}


def per_stage(repo: Path, archive: Path) -> dict:
    """Each stage's own process, as `dvc repro` starts it, timed alone; for train, also the time
    outside `fit` (start-up, tracing, DVCLive, summary, figure, saving), from the fit time it logs."""
    stages = {}
    for stage in STAGES:
        run = timed([sys.executable, "-m", f"pipeline.{stage}"], repo, {"IMDB_ARCHIVE": str(archive)})
        stages[stage] = {
            "seconds": round(run.seconds, 2),
            "peak_rss_mb": round(run.peak_rss_mb),
            "reviews_per_second": round(REVIEWS[stage] / run.seconds),
        }
        if fit := re.search(r"fit: ([\d.]+) s", run.log):
            stages[stage]["outside_fit_seconds"] = round(run.seconds - float(fit.group(1)), 2)
    return stages


def training(repo: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.training"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{repo}:{ROOT}", "PATH": str(BIN)},
    )
    return json.loads(out.stdout.splitlines()[-1])
