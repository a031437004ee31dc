"""multi_worker: real worker processes on 127.0.0.1, each in its own clone, as on separate machines."""

import hashlib
import json
import re
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, dvc, make_dvc_repo, run_cmd, set_params, tiny_reviews, write_archive
from tutorial_params import tutorial

from pipeline.lib.backend import keras
from pipeline.lib.cli import PipelineError
from pipeline.lib.files import load_npz
from pipeline.lib.multi_worker import EXAMPLE, cluster_from_environment, cluster_timeout, weights_digest
from pipeline.train import split_validation

# md5 of models/model.keras from the two-worker tiny run below: a fixed cluster size gives the same bytes.
GOLDEN_TWO_WORKER_MD5 = "ee339c7ac166e609c65b308ab3d438b2"
EPOCHS = 6
EPOCH_LINE = re.compile(r"^train: epoch (\d+)/\d+: (\d+) steps, [\d.]+ s, (.*)$", re.MULTILINE)


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now, as TensorFlow's own multi-worker tests pick them."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps(
        {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
    )


def clone(source: Path, target: Path) -> Path:
    """A worker's setup: the same commit, and train's inputs from the DVC remote (docs/distributed.md)."""
    run_cmd(["git", "clone", "-q", str(source), str(target)], source.parent)
    dvc(target, "pull", "--with-deps", "pad", "embed")
    return target


def files(repo: Path) -> dict[str, tuple[int, int]]:
    """Every file of a workspace but git's own and Python's bytecode: size and modification time."""
    return {
        str(path.relative_to(repo)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(repo.rglob("*"))
        if path.is_file()
        and ".git" not in path.relative_to(repo).parts
        and "__pycache__" not in path.parts
        and not path.relative_to(repo).is_relative_to(".dvc/tmp")  # DVC's scratch: its locks and ours
    }


def tsv(path: Path) -> list[float]:
    return [float(line.split("\t")[1]) for line in path.read_text().splitlines()[1:]]


def epochs(log: str) -> list[tuple[str, str, str]]:
    return EPOCH_LINE.findall(log)


def digest(log: str) -> str:
    return re.search(r"^train: weights md5 ([0-9a-f]{32})$", log, re.MULTILINE).group(1)


@dataclass
class Run:
    origin: Path
    chief: Path
    worker: Path
    chief_log: str
    worker_log: str


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """docs/distributed.md's recipe: a commit with the data pushed; on each worker a clone and `dvc pull`;
    then `dvc repro train` on the chief and `python -m pipeline.train` on the other worker.

    No dropout, so that a one-process run computes the same thing; a learning rate at which the
    validation loss turns up after two epochs, so that early stopping ends the run; batches of 4
    over 19 training rows, so that the last batch splits unevenly (1 and 2 rows).
    """
    root = tmp_path_factory.mktemp("multi_worker")
    origin = make_dvc_repo(root / "origin", write_archive(root / "aclImdb_v1.tar.gz", tiny_reviews()))
    set_params(
        origin,
        model__embedding_dropout=0.0,
        model__dense_dropout=0.0,
        train__learning_rate=0.1,
        train__batch_size=4,
        train__epochs=EPOCHS,
        train__early_stopping_patience=1,
        train__distribute="multi_worker",
        train__workers=2,
    )
    dvc(origin, "remote", "add", "-d", "local", str(root / "dvc-remote"))
    dvc(origin, "repro", "pad", "embed")  # train's inputs, which docs/distributed.md has every worker pull
    run_cmd(["git", "add", "-A"], origin)
    run_cmd(["git", "commit", "-qm", "data for two workers"], origin)
    dvc(origin, "push")
    chief, worker = clone(origin, root / "chief"), clone(origin, root / "worker")
    before = files(worker)

    ports = free_ports(2)
    python = sys.executable
    commands = {chief: [python, "-m", "dvc", "repro", "train"], worker: [python, "-m", "pipeline.train"]}
    with ThreadPoolExecutor(2) as pool:
        chief_run, worker_run = (
            pool.submit(run_cmd, command, repo, False, TF_CONFIG=tf_config(ports, i), PIPELINE_CLUSTER_TIMEOUT="120")
            for i, (repo, command) in enumerate(commands.items())
        )
    for result in (chief_run.result(), worker_run.result()):
        assert result.returncode == 0, result.stdout + result.stderr
    assert files(worker) == before, "the worker wrote into its workspace"
    return Run(origin, chief, worker, chief_run.result().stderr, worker_run.result().stderr)


def test_two_workers_train_in_step_and_only_the_chief_writes(two_workers: Run) -> None:
    chief, worker = two_workers.chief, two_workers.worker
    assert epochs(two_workers.chief_log) == epochs(two_workers.worker_log)  # same steps, same metrics
    assert digest(two_workers.chief_log) == digest(two_workers.worker_log)

    model = keras.saving.load_model(chief / "models" / "model.keras", compile=False)
    assert weights_digest(model) == digest(two_workers.chief_log)  # the chief saved what both trained
    assert hashlib.md5((chief / "models" / "model.keras").read_bytes()).hexdigest() == GOLDEN_TWO_WORKER_MD5

    metrics = json.loads((chief / "reports" / "train" / "metrics.json").read_text())
    assert set(metrics["train"]) == set(metrics["eval"]) == {"accuracy", "loss"}
    run_epochs = len(epochs(two_workers.chief_log))
    for split in ("train", "eval"):
        for metric in ("accuracy", "loss"):
            assert len(tsv(chief / "reports" / "train" / "plots" / "metrics" / split / f"{metric}.tsv")) == run_epochs
    assert (chief / "reports" / "figures" / "history.png").exists()
    assert "rnn_1: 52 = formula 52  OK" in (chief / "reports" / "model_summary.txt").read_text()
    assert "up to date" in dvc(chief, "status", "train")  # the chief's dvc.lock records this run

    assert run_cmd(["git", "status", "--porcelain"], worker).stdout == ""
    assert not (worker / "models" / "model.keras").exists() and not (worker / "reports" / "train").exists()


def test_early_stopping_restores_the_best_epoch_on_every_worker(two_workers: Run) -> None:
    chief = two_workers.chief
    losses = tsv(chief / "reports" / "train" / "plots" / "metrics" / "eval" / "loss.tsv")
    assert len(losses) < EPOCHS and losses[-1] > min(losses)  # stopped after a worse epoch

    params = yaml.safe_load((chief / "params.yaml").read_text())["train"]
    data = load_npz(chief / "data" / "padded" / "train.npz")
    _, x_val, _, y_val = split_validation(data["x"], data["y"], params["validation_split"], params["seed"])
    model = keras.saving.load_model(chief / "models" / "model.keras", compile=False)
    restored = float(np.mean(keras.losses.binary_crossentropy(y_val[:, None].astype("float32"), model(x_val))))
    assert restored == pytest.approx(min(losses), rel=1e-5)


def test_two_workers_compute_what_one_process_computes(two_workers: Run, tmp_path: Path) -> None:
    """Global batch B over two workers against batch B in one process: the same examples per step and
    the same maths, so the curves agree up to the order of float sums."""
    solo = clone(two_workers.origin, tmp_path / "solo")
    set_params(solo, train__workers=1)
    run_cmd([sys.executable, "-m", "pipeline.train"], solo, TF_CONFIG=tf_config(free_ports(1), 0))
    curves = {}
    for name, repo in (("two workers", two_workers.chief), ("one process", solo)):
        plots = repo / "reports" / "train" / "plots" / "metrics"
        curves[name] = {split: tsv(plots / split / "loss.tsv") for split in ("train", "eval")}
    print(json.dumps(curves, indent=1))
    for split in ("train", "eval"):
        assert curves["two workers"][split] == pytest.approx(curves["one process"][split], rel=1e-4, abs=0), curves


BAD_TF_CONFIGS = {
    "missing": ("", r"^train.distribute = multi_worker needs TF_CONFIG on every worker, e\.g\. \{"),
    "not JSON": ("{cluster: 1}", r"^TF_CONFIG is not valid JSON \(Expecting property name"),
    "no workers": ('{"cluster": {}}', r"^TF_CONFIG: cluster.worker must be a list of host:port addresses, got None"),
    "no port": ('{"cluster": {"worker": ["a:1", "b"]}}', r"cluster.worker must be a list of host:port addresses"),
    "a chief job": (
        '{"cluster": {"chief": ["a:1"], "worker": ["b:1"]}}',
        r"^TF_CONFIG: the cluster lists chief: only workers are supported \(worker 0 is the chief\)$",
    ),
    "index out of range": (
        '{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
        r'^TF_CONFIG: task must be \{"type": "worker", "index": 0\.\.1\}, got \{"type": "worker", "index": 2\}$',
    ),
    "other cluster size": (
        '{"cluster": {"worker": ["a:1", "b:1", "c:1"]}, "task": {"type": "worker", "index": 0}}',
        r"^TF_CONFIG lists 3 workers but params.yaml has train.workers = 2$",
    ),
}


@pytest.mark.parametrize("case", BAD_TF_CONFIGS, ids=list(BAD_TF_CONFIGS))
def test_a_bad_tf_config_is_named(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    value, message = BAD_TF_CONFIGS[case]
    monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(PipelineError, match=message):
        cluster_from_environment(2)


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf"])
def test_a_bad_cluster_timeout_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PIPELINE_CLUSTER_TIMEOUT", value)
    with pytest.raises(
        PipelineError, match=rf"^PIPELINE_CLUSTER_TIMEOUT = '{value}': expected a number of seconds > 0$"
    ):
        cluster_timeout()


def test_train_without_tf_config_fails_in_one_line(tmp_path: Path) -> None:
    params = tutorial()
    params["train"].update(distribute="multi_worker", workers=2)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_cmd([sys.executable, "-m", "pipeline.train"], tmp_path, False, PYTHONPATH=str(ROOT), TF_CONFIG="")
    assert result.returncode == 1
    assert result.stderr == f"error: train.distribute = multi_worker needs TF_CONFIG on every worker, e.g. {EXAMPLE}\n"


def test_a_worker_that_never_comes_ends_the_others_within_the_timeout(two_workers: Run) -> None:
    ports = free_ports(2)
    started = time.monotonic()
    result = run_cmd(
        [sys.executable, "-m", "pipeline.train"],
        two_workers.origin,
        False,
        TF_CONFIG=tf_config(ports, 0),
        PIPELINE_CLUSTER_TIMEOUT="3",
    )
    assert time.monotonic() - started < 90
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: worker 0: not every worker of 127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]} answered within 3 s;"
        " start `python -m pipeline.train` with the same TF_CONFIG cluster on each (or raise PIPELINE_CLUSTER_TIMEOUT)"
    ]
