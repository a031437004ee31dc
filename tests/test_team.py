"""Comparing runs and sharing them: diffs across commits, experiments, remotes, the run-cache."""

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from conftest import ROOT, dvc, pushed_pipeline, ran, run_cmd, set_params
from moto.server import ThreadedMotoServer

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def clone(source: Path, target: Path) -> Path:
    run_cmd(["git", "clone", "-q", str(source), str(target)], source.parent)
    return target


@pytest.fixture(scope="module")
def pushed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose full pipeline ran, committed, and pushed with its run-cache to a local remote."""
    return pushed_pipeline(tmp_path_factory.mktemp("team"))


def test_fresh_clone_pulls_to_a_clean_status(pushed_repo: Path, tmp_path: Path) -> None:
    repo = clone(pushed_repo, tmp_path / "teammate")
    dvc(repo, "pull")
    assert "up to date" in dvc(repo, "status")
    assert ran(dvc(repo, "repro")) == []
    assert (repo / "models" / "model.keras").exists()


def test_repro_pull_restores_stages_from_the_remote_run_cache(pushed_repo: Path, tmp_path: Path) -> None:
    """Without dvc.lock, only the run-cache pushed with `dvc push --run-cache` can tell which
    outputs a stage's deps and params made: the stages whose outputs all live in the DVC
    remote are restored, none run. (DVC pushes no objects of git-tracked metrics and plots,
    so the stages that have them run again; a remote pushed without --run-cache runs all.)"""
    repo = clone(pushed_repo, tmp_path / "teammate")
    (repo / "dvc.lock").unlink()
    output = dvc(repo, "repro", "--pull")
    restored = re.findall(r"Stage '(\w+)' is cached - skipping run", output)
    assert restored == ["check", "download", "prepare", "encode", "pad", "embed"]  # prepare's counts: cached
    assert ran(output) == ["train", "evaluate", "baseline"]
    assert "up to date" in dvc(repo, "status")


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        **{
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "region_name": "us-east-1",
        },
    ).create_bucket(Bucket="imdb-rnn")
    yield endpoint
    server.stop()


def test_s3_remote_push_clone_pull(pushed_repo: Path, tmp_path: Path, s3_endpoint: str) -> None:
    repo = clone(pushed_repo, tmp_path / "pusher")
    dvc(repo, "pull")
    dvc(repo, "remote", "add", "s3", "s3://imdb-rnn/cache")
    dvc(repo, "remote", "modify", "s3", "endpointurl", s3_endpoint)
    assert "pushed" in dvc(repo, "push", "-r", "s3", "--run-cache", **S3_ENV)
    run_cmd(["git", "commit", "-qam", "S3 remote"], repo)

    puller = clone(repo, tmp_path / "puller")
    dvc(puller, "pull", "-r", "s3", **S3_ENV)
    assert "up to date" in dvc(puller, "status")
    assert (puller / "models" / "model.keras").read_bytes() == (repo / "models" / "model.keras").read_bytes()


def test_metrics_and_params_diff_across_commits(pushed_repo: Path, tmp_path: Path) -> None:
    repo = clone(pushed_repo, tmp_path / "work")
    dvc(repo, "pull")
    set_params(repo, train__epochs=1, model__units=3)
    assert ran(dvc(repo, "repro")) == ["check", "train", "evaluate"]
    run_cmd(["git", "commit", "-qam", "smaller model, one epoch"], repo)

    params = json.loads(dvc(repo, "params", "diff", "HEAD~1", "HEAD", "--json"))["params.yaml"]
    assert params["train.epochs"] == {"old": 2, "new": 1, "diff": -1}
    assert params["model.units"] == {"old": 4, "new": 3, "diff": -1}
    metrics = json.loads(dvc(repo, "metrics", "diff", "HEAD~1", "HEAD", "--json"))
    loss = metrics["reports/metrics.json"]["loss"]
    assert loss["old"] != loss["new"]
    assert "reports/baseline_metrics.json" not in metrics  # the baseline did not change


def test_experiment_with_another_cell(pushed_repo: Path, tmp_path: Path) -> None:
    repo = clone(pushed_repo, tmp_path / "exp")
    dvc(repo, "pull")
    output = dvc(repo, "exp", "run", "-S", "model.cell=gru")
    assert ran(output) == ["check", "train", "evaluate"]
    experiments = json.loads(dvc(repo, "exp", "show", "--json"))
    runs = [
        exp["data"]
        for commit in experiments
        for experiment in commit.get("experiments") or []
        for exp in experiment["revs"]
    ]
    gru = [r for r in runs if r["params"]["params.yaml"]["data"]["model"]["cell"] == "gru"]
    assert len(gru) == 1
    assert set(gru[0]["metrics"]["reports/metrics.json"]["data"]) >= {"accuracy", "loss", "roc_auc"}


def test_a_queued_grid_runs_every_experiment(pushed_repo: Path, tmp_path: Path) -> None:
    """docs/experiments.md's queued grid: `dvc exp run --queue` with two values, `dvc queue start`, then both show."""
    repo = clone(pushed_repo, tmp_path / "grid")
    dvc(repo, "pull")
    dvc(repo, "exp", "run", "--queue", "-S", "model.units=3,5")
    dvc(repo, "queue", "start", "-j", "1")
    deadline = time.monotonic() + 300
    while re.search(r"\b(Queued|Running)\b", dvc(repo, "queue", "status")):
        assert time.monotonic() < deadline, dvc(repo, "queue", "status")
        time.sleep(2)
    dvc(repo, "queue", "stop")
    experiments = json.loads(dvc(repo, "exp", "show", "--json"))
    runs = [exp["data"] for commit in experiments for e in commit.get("experiments") or [] for exp in e["revs"]]
    units = sorted(r["params"]["params.yaml"]["data"]["model"]["units"] for r in runs)
    assert units == [3, 5]
    assert all(r["metrics"]["reports/metrics.json"]["data"]["accuracy"] >= 0 for r in runs)


def test_the_model_is_a_registry_artifact(pushed_repo: Path, tmp_path: Path) -> None:
    """A version is an annotated git tag in GTO's form; `dvc artifacts get` then fetches its model from the
    repository's DVC remote, as docs/sharing.md says."""
    run_cmd(["git", "tag", "-a", "imdb-rnn@v1.0.0", "-m", "Registering artifact imdb-rnn version v1.0.0"], pushed_repo)
    dvc(tmp_path, "artifacts", "get", str(pushed_repo), "imdb-rnn", "-o", "model.keras")
    assert (tmp_path / "model.keras").read_bytes() == (pushed_repo / "models" / "model.keras").read_bytes()


def experiments(repo: Path) -> dict[str, dict]:
    """`dvc exp show`'s experiments: name -> their params and metrics."""
    shown = json.loads(dvc(repo, "exp", "show", "--json"))
    return {
        exp["name"]: exp["data"]
        for commit in shown
        for experiment in commit.get("experiments") or []
        for exp in experiment["revs"]
    }


def test_an_experiment_grid_split_over_two_machines(pushed_repo: Path, tmp_path: Path) -> None:
    """docs/sharing.md's recipe: a shared git remote (a bare repository) and a shared DVC remote; each
    machine runs its half of the grid and pushes it; any clone pulls them all. The grid is the
    baseline's C, whose runs need no TensorFlow, so that the test stays fast."""
    shared = tmp_path / "shared.git"
    run_cmd(["git", "clone", "-q", "--bare", str(pushed_repo), str(shared)], tmp_path)
    halves = {"alice": (0.01, 0.1), "bob": (10.0, 100.0)}

    def run_half(machine: str) -> None:
        repo = clone(shared, tmp_path / machine)
        dvc(repo, "pull")
        for c in halves[machine]:
            assert ran(dvc(repo, "exp", "run", "-n", f"c-{c:g}", "-S", f"baseline.C={c}")) == ["check", "baseline"]
        assert "Pushed experiment" in dvc(repo, "exp", "push", "origin")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run_half, halves))

    anyone = clone(shared, tmp_path / "carol")
    dvc(anyone, "exp", "pull", "origin")
    grid = experiments(anyone)
    assert sorted(grid) == sorted(f"c-{c:g}" for half in halves.values() for c in half)
    losses = set()
    for name, data in grid.items():
        assert data["params"]["params.yaml"]["data"]["baseline"]["C"] == float(name[2:])
        metrics = data["metrics"]["reports/baseline_metrics.json"]["data"]
        assert set(metrics) >= {"accuracy", "loss", "roc_auc"}
        losses.add(metrics["loss"])
    assert len(losses) == 4  # four real runs

    table = [row for row in run_cmd(["sh", "-c", make_recipe("exps")], anyone).stdout.splitlines() if row]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert "baseline.C" in header  # the param that varies ...
    assert not {"model.cell", "train.epochs"} & set(header)  # ... and none that does not
    assert not [column for column in header if "/" in column and ":" not in column]  # no dependency hashes
    assert [column for column in header if column.endswith("loss")]  # the metric that varies (C moves the loss)
    assert {f"c-{c:g}" for half in halves.values() for c in half} <= {
        re.sub(r"^\W*\w+ \[(.*)\]$", r"\1", row.split("|")[1].strip()) for row in table[2:]
    }
    assert max(map(len, table)) < 120, table


def make_recipe(target: str) -> str:
    """The one-line recipe of a Makefile target, as the shell would get it."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    recipe = lines[lines.index(next(line for line in lines if line.startswith(f"{target}:"))) + 1]
    return recipe.strip().replace("$$", "$")
