"""The README's daily workflow on the tiny data: what to commit after `dvc repro`, adopting and
discarding experiments, and `make env`, which builds the environment and runs nothing else."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, dvc, pushed_pipeline, ran, run_cmd, set_params


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny pipeline, run, committed and pushed to a local DVC remote."""
    return pushed_pipeline(tmp_path_factory.mktemp("workflow"))


def checkout(origin: Path, target: Path) -> Path:
    """A teammate's clone with the committed run's data and model pulled."""
    run_cmd(["git", "clone", "-q", str(origin), str(target)], origin.parent)
    dvc(target, "pull")
    return target


def git_status(repo: Path) -> str:
    return run_cmd(["git", "status", "--porcelain"], repo).stdout


def baseline_c(repo: Path) -> float:
    return yaml.safe_load((repo / "params.yaml").read_text())["baseline"]["C"]


def test_dvc_lock_params_and_reports_are_all_a_run_changes_in_git(origin: Path, tmp_path: Path) -> None:
    repo = checkout(origin, tmp_path / "work")
    set_params(repo, train__epochs=1)
    assert ran(dvc(repo, "repro")) == ["check", "train", "evaluate"]
    changed = {line[3:] for line in git_status(repo).splitlines()}
    assert {"dvc.lock", "params.yaml", "reports/metrics.json", "reports/train/validation.json"} <= changed
    run_cmd(["git", "add", "dvc.lock", "params.yaml", "reports"], repo)
    assert git_status(repo).startswith("M ") and all(line[1] == " " for line in git_status(repo).splitlines())
    run_cmd(["git", "commit", "-qm", "one epoch"], repo)
    assert git_status(repo) == ""
    assert "up to date" in dvc(repo, "status")
    metrics = json.loads(dvc(repo, "metrics", "diff", "HEAD~1", "HEAD", "--json"))
    assert metrics["reports/metrics.json"]["loss"]["old"] != metrics["reports/metrics.json"]["loss"]["new"]


def test_experiments_are_adopted_branched_and_removed(origin: Path, tmp_path: Path) -> None:
    repo = checkout(origin, tmp_path / "exps")
    assert ran(dvc(repo, "exp", "run", "-n", "c-half", "-S", "baseline.C=0.5")) == ["check", "baseline"]
    assert ran(dvc(repo, "exp", "run", "-n", "c-double", "-S", "baseline.C=2")) == ["check", "baseline"]
    head = run_cmd(["git", "show", "HEAD:params.yaml"], repo).stdout
    assert yaml.safe_load(head)["baseline"]["C"] == 1.0  # no commit: the last one's results are in the workspace
    assert baseline_c(repo) == 2
    assert "reports/baseline_metrics.json" in dvc(repo, "exp", "diff", "c-half")
    committed = (repo / "reports" / "baseline_metrics.json").read_text()

    dvc(repo, "exp", "apply", "c-half")  # its params, dvc.lock and reports, ready to commit
    assert baseline_c(repo) == 0.5
    assert (repo / "reports" / "baseline_metrics.json").read_text() != committed
    assert "up to date" in dvc(repo, "status")
    run_cmd(["git", "add", "dvc.lock", "params.yaml", "reports"], repo)
    run_cmd(["git", "commit", "-qm", "C = 0.5"], repo)
    assert git_status(repo) == ""

    dvc(repo, "exp", "branch", "c-double", "c-double-branch")
    shown = run_cmd(["git", "show", "c-double-branch:params.yaml"], repo).stdout
    assert yaml.safe_load(shown)["baseline"]["C"] == 2

    dvc(repo, "exp", "run", "-n", "c-tiny", "-S", "baseline.C=0.01")
    dvc(repo, "exp", "remove", "c-half", "c-double", "c-tiny")
    assert not {"c-half", "c-double", "c-tiny"} & set(dvc(repo, "exp", "list", "--all-commits").split())
    run_cmd(["git", "checkout", "--", "."], repo)  # the workspace back to the commit
    dvc(repo, "checkout")
    assert git_status(repo) == "" and baseline_c(repo) == 0.5
    assert "up to date" in dvc(repo, "status")


def test_make_env_builds_the_environment_and_runs_nothing_else() -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under make test
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "env"], cwd=ROOT, env=clean, capture_output=True, text=True
    ).stdout
    commands = [line.split()[0] for line in dry.splitlines()]
    assert commands and set(commands) <= {"python3", ".venv/bin/pip", "touch"}, dry
    assert "python3 -m venv .venv" in dry
