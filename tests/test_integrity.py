"""What DVC records is what produced it: the ways users disturb a pipeline, each through the real
command line (`dvc repro`, `dvc checkout`, `python -m pipeline.predict`) on a trained tiny pipeline.

One trained repository is built per module and committed; each test works on a copy of it.
"""

import contextlib
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, dvc, environment, make_dvc_repo, ran, run_cmd, set_params, tiny_reviews, write_archive

from pipeline.lib import guard, paths

HUGE = 5 << 20  # characters of one test review: git-tracked reports must not carry it whole
TRAIN_OUTS = guard.declared("train", ROOT / "dvc.yaml").outs  # models, summary, DVCLive's logs, history


def members() -> dict[str, bytes]:
    reviews = tiny_reviews()
    reviews["aclImdb/test/pos/3_10.txt"] = ("superb film " * (HUGE // 12)).encode()
    return reviews


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("integrity")
    repo = make_dvc_repo(root / "repo", write_archive(root / "aclImdb_v1.tar.gz", members()))
    set_params(repo, evaluate__samples=24)  # every test review, the huge one included
    dvc(repo, "repro")
    for args in (["git", "add", "-A"], ["git", "commit", "-qm", "trained"]):
        run_cmd(args, repo)
    return repo


@pytest.fixture
def repo(trained: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(trained, copy, symlinks=True)
    return copy


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def lock(repo: Path) -> dict:
    return yaml.safe_load((repo / "dvc.lock").read_text())["stages"]


def up_to_date(repo: Path) -> bool:
    return "Data and pipelines are up to date" in dvc(repo, "status")


class Running:
    """A `dvc` command in its own process group, its output read line by line as it comes."""

    def __init__(self, repo: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dvc", *args],
            cwd=repo,
            env=environment(PYTHONUNBUFFERED="1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.output):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.process.poll() is not None and self.lines.empty()):
                raise AssertionError(f"never printed {text!r}:\n{''.join(self.output)}")
            with contextlib.suppress(queue.Empty):
                self.output.append(self.lines.get(timeout=min(remaining, 1)))

    def finish(self, timeout: float = 300) -> str:
        self.process.wait(timeout)
        time.sleep(0.2)  # the reader thread drains the pipe
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return "".join(self.output)


TRAINING = "Recurrent parameters"  # train's model summary: params read, the model built, fit next


def stage_pid(repo: Path, stage: str) -> int:
    return int((repo / ".dvc" / "tmp" / f"pipeline-{stage}.lock").read_text())


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_params_edit_during_a_stage_fails_it_and_records_nothing(repo: Path) -> None:
    set_params(repo, train__epochs=60)  # long enough to edit params.yaml while it trains
    before = lock(repo)["train"]
    running = Running(repo, "repro")
    running.wait_for(TRAINING)
    set_params(repo, train__seed=45)
    output = running.finish()
    assert running.process.returncode != 0
    assert "error: stage train: train.seed changed while it ran; its outputs are removed and nothing is" in output
    assert lock(repo)["train"] == before  # neither seed is paired with the model
    assert [out for out in TRAIN_OUTS if (repo / out).exists()] == []
    assert not up_to_date(repo)
    assert ran(dvc(repo, "repro")) == ["check", "embed", "train", "evaluate"]  # the edit is used, and recorded
    assert lock(repo)["train"]["params"]["params.yaml"]["train"]["seed"] == 45


def test_an_experiment_started_during_a_run_neither_corrupts_the_record_nor_loses_an_edit(repo: Path) -> None:
    set_params(repo, train__epochs=60)
    run_cmd(["git", "commit", "-qam", "longer"], repo)
    before = lock(repo)["train"]
    running = Running(repo, "repro")
    running.wait_for(TRAINING)
    set_params(repo, evaluate__samples=5)  # the user's uncommitted edit
    edited = (repo / "params.yaml").read_text()
    queued = dvc(repo, "exp", "run", "--queue", "-S", "train.seed=45")  # the safe way: the workspace is untouched
    assert "Queued experiment" in queued and (repo / "params.yaml").read_text() == edited
    at_once = run_cmd([sys.executable, "-m", "dvc", "exp", "run", "-S", "train.seed=45"], repo, check=False)
    assert at_once.returncode != 0  # DVC's lock, after it applied -S to params.yaml
    output = running.finish()
    assert "error: stage train: train.seed changed while it ran" in output
    assert lock(repo)["train"] == before
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["evaluate"]["samples"] == 5 and params["train"]["seed"] == 45


def corrupt_cache_object(repo: Path, folder: str, name: str) -> None:
    """Flip bytes in the cache file that holds `name` of the output folder, then check it out."""
    listing_md5 = next(
        out["md5"] for stage in lock(repo).values() for out in stage.get("outs", []) if out["path"] == folder
    )
    cache = repo / ".dvc" / "cache" / "files" / "md5"
    listing = yaml.safe_load((cache / listing_md5[:2] / listing_md5[2:]).read_text())
    entry = next(item["md5"] for item in listing if item["relpath"] == name)
    obj = cache / entry[:2] / entry[2:]
    obj.chmod(0o644)
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0xFF
    obj.write_bytes(bytes(data))
    (repo / folder / name).unlink()
    dvc(repo, "checkout")


def test_a_corrupted_cache_object_is_refused_by_the_stage_that_reads_it(repo: Path) -> None:
    metrics = (repo / paths.METRICS).read_text()
    corrupt_cache_object(repo, "data/padded", "test.npz")
    result = run_cmd([sys.executable, "-m", "dvc", "repro", "-s", "-f", "evaluate"], repo, check=False)
    assert result.returncode != 0
    assert re.search(
        r"error: data/padded/test.npz: its bytes \(md5 \w{32}\) are not what dvc.lock records \(\w{32}\): restore"
        r" it with `dvc checkout --relink --force data/padded/test.npz`; if DVC's cache object is damaged too,"
        r" repair that first with `dvc pull --force` \(from a remote\) or `dvc repro -f -s pad`",
        result.stdout + result.stderr,
    ), result.stderr
    # The repair the message gives, then the record and the metrics are as they were.
    assert ran(dvc(repo, "repro", "-f", "-s", "pad")) == ["pad"]
    dvc(repo, "checkout", "--relink", "--force", "data/padded/test.npz")
    dvc(repo, "repro")  # evaluate's outputs, which DVC removed, come back from the run-cache
    assert (repo / paths.METRICS).read_text() == metrics and up_to_date(repo)


def kill_stage(repo: Path, running: Running) -> None:
    os.kill(stage_pid(repo, "train"), signal.SIGKILL)


@pytest.mark.parametrize(
    "interrupt",
    [
        pytest.param(lambda repo, running: os.killpg(running.process.pid, signal.SIGINT), id="ctrl-c"),
        pytest.param(lambda repo, running: os.killpg(running.process.pid, signal.SIGTERM), id="sigterm"),
        pytest.param(kill_stage, id="kill -9 the stage"),
    ],
)
def test_an_interrupted_stage_leaves_no_output_of_its_own(repo: Path, interrupt) -> None:
    kept = {out: md5(repo / out) for out in (paths.METRICS, paths.BASELINE_METRICS, paths.MODEL)}
    set_params(repo, train__epochs=60)
    running = Running(repo, "repro")
    running.wait_for(TRAINING)
    time.sleep(1)  # DVCLive has written an epoch or two
    interrupt(repo, running)
    running.finish()
    assert running.process.returncode != 0
    assert [out for out in TRAIN_OUTS if (repo / out).exists()] == []  # DVC removed them; the run put none back
    assert [md5(repo / out) for out in kept if out != paths.MODEL] == [
        kept[paths.METRICS],
        kept[paths.BASELINE_METRICS],
    ]
    shown = json.loads(dvc(repo, "metrics", "show", "--json"))[""]["data"]  # "": the workspace
    assert "data" in shown[str(paths.METRICS)] and "data" not in shown.get("reports/train/validation.json", {})
    # What the README gives to get back: the committed params, record and reports, DVC's cache for the rest.
    run_cmd(["git", "checkout", "--", "params.yaml", "dvc.lock", "reports"], repo)
    dvc(repo, "checkout")
    assert up_to_date(repo) and md5(repo / paths.MODEL) == kept[paths.MODEL]
    assert not list((repo / paths.REPORTS).glob(".*.tmp*")) or interrupt is kill_stage


def tsv_steps(path: Path) -> list[str]:
    header, *rows = (line.split("\t") for line in path.read_text().splitlines())
    return [row[header.index("step")] for row in rows]


def test_an_orphaned_stage_and_a_rerun_never_both_write(repo: Path) -> None:
    set_params(repo, train__epochs=150)
    running = Running(repo, "repro")
    running.wait_for(TRAINING)
    orphan = stage_pid(repo, "train")
    running.process.kill()  # kill -9 of `dvc` alone: its train goes on
    running.finish()
    assert alive(orphan)
    again = run_cmd([sys.executable, "-m", "dvc", "repro"], repo, check=False)
    # The refusal names the orphan, so it was alive when the rerun checked; whether it still is
    # afterwards depends on the machine's load (a busy CI saw it finish its 150 epochs meanwhile).
    assert again.returncode != 0
    assert (
        f"error: stage train: another run (pid {orphan}) is writing its outputs; wait for it to end or stop it"
        f" (kill {orphan}), then run again" in again.stdout + again.stderr
    )
    deadline = time.monotonic() + 300
    while alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ran(dvc(repo, "repro"))[:1] == ["train"]
    for tsv in (repo / paths.TRAIN_LOG / "plots" / "metrics").rglob("*.tsv"):
        assert tsv_steps(tsv) == [str(step) for step in range(150)], tsv  # one run's epochs, each once


HOSTILE = {
    "train.seed": 2**70,
    "encode.num_words": 10**12,
    "pad.maxlen": 10**9,
    "train.epochs": 1_000_000,
}


def test_values_that_would_crash_a_stage_stop_at_check_with_every_output_kept(repo: Path) -> None:
    outputs = {out: md5(repo / out) for out in (paths.MODEL, paths.MODEL_WEIGHTS, paths.METRICS)}
    for key, value in HOSTILE.items():
        section, name = key.split(".")
        set_params(repo, **{f"{section}__{name}": value}, model__unroll=False)
        result = run_cmd([sys.executable, "-m", "dvc", "repro"], repo, check=False)
        assert result.returncode != 0 and ran(result.stdout) == ["check"], key
        assert f"error: params.yaml: {key} = {value} is invalid: expected an integer in [" in result.stderr
        assert {out: md5(repo / out) for out in outputs} == outputs, key
        run_cmd(["git", "checkout", "--", "params.yaml"], repo)


def test_the_archive_is_part_of_the_record(repo: Path, tmp_path: Path) -> None:
    """IMDB_ARCHIVE says where the bytes are, data.sha256 which bytes: other bytes fail in one line,
    and another corpus is another data.sha256, which re-runs download and everything after it."""
    other = write_archive(tmp_path / "other.tar.gz", {**members(), "aclImdb/train/neg/0_1.txt": b"dull, dull film"})
    digest = hashlib.sha256(other.read_bytes()).hexdigest()
    forced = run_cmd(
        [sys.executable, "-m", "dvc", "repro", "-f", "-s", "download"], repo, check=False, IMDB_ARCHIVE=str(other)
    )
    assert forced.returncode != 0
    assert (
        f"sha256 mismatch: expected {lock(repo)['download']['params']['params.yaml']['data']['sha256']}, got {digest}"
        in (forced.stderr)
    )
    set_params(repo, data__sha256="")
    assert (
        "error: params.yaml: data.sha256 = '' is invalid"
        in run_cmd([sys.executable, "-m", "dvc", "repro"], repo, check=False, IMDB_ARCHIVE=str(other)).stderr
    )
    set_params(repo, data__sha256=digest)
    stages = ran(dvc(repo, "repro", IMDB_ARCHIVE=str(other)))
    assert stages[:3] == ["check", "download", "prepare"] and {"train", "evaluate", "baseline"} <= set(stages)
    assert md5(repo / paths.ARCHIVE) == md5(other) and up_to_date(repo)


def predict(repo: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run_cmd([sys.executable, "-m", "pipeline.predict", *args], repo, check=False, stdin=stdin)


def test_predict_echoes_no_control_characters_and_answers_line_for_line(repo: Path) -> None:
    result = predict(repo, stdin="\x1b]0;pwned\x07 a superb film\ngood\rbad film\r\nawful\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert lines[0].endswith("\t\\x1b]0;pwned\\x07 a superb film")
    assert lines[1].endswith("\tgood bad film") and lines[2].endswith("\tawful")  # a carriage return is a space


def test_predict_bounds_its_input_and_names_a_damaged_model(repo: Path, tmp_path: Path) -> None:
    zeros = predict(repo, "--file", "/dev/zero")
    assert zeros.returncode == 1
    assert zeros.stderr.splitlines()[-1] == "error: /dev/zero: more than 64 MiB of input; classify it in parts"
    big = tmp_path / "big.txt"
    big.write_bytes(b"a fine film\n" * (6 << 20))
    assert (
        predict(repo, "--file", str(big))
        .stderr.splitlines()[-1]
        .endswith("more than 64 MiB of input; classify it in parts")
    )
    weights = repo / paths.MODEL_WEIGHTS
    weights.write_bytes(weights.read_bytes()[:-100])
    damaged = predict(repo, "a fine film")
    assert damaged.returncode == 1 and "Traceback" not in damaged.stderr
    assert re.fullmatch(
        r"error: models/model.npz: damaged \(.+\); restore it with `dvc checkout --relink --force models/model.npz`",
        damaged.stderr.splitlines()[-1],
    )
    under_dvc = run_cmd([sys.executable, "-m", "dvc", "repro", "-s", "-f", "evaluate"], repo, check=False)
    assert "error: models/model.npz: its bytes" in under_dvc.stderr
    dvc(repo, "checkout", "--relink", "--force", str(paths.MODEL_WEIGHTS))
    assert predict(repo, "a fine film").returncode == 0


def test_git_tracked_reports_cut_long_reviews(repo: Path) -> None:
    predictions = (repo / paths.PREDICTIONS).read_text()
    assert len(predictions) < 200_000
    assert f"[... {HUGE // 12 * 12 - 4000:,} more characters]" in predictions


def test_dvc_lock_holds_exactly_the_stages_of_dvc_yaml(repo: Path) -> None:
    for folder in (ROOT, repo):
        stages = yaml.safe_load((folder / "dvc.yaml").read_text())["stages"]
        assert sorted(yaml.safe_load((folder / "dvc.lock").read_text())["stages"]) == sorted(stages), folder


@pytest.mark.parametrize("keep", [0.0, 0.5], ids=["empty", "cut"])
def test_a_cut_or_empty_dvc_lock_is_recovered_from_the_run_cache(repo: Path, keep: float) -> None:
    """DVC writes dvc.lock in place: `dvc` killed during the write can leave it cut or empty."""
    text = (repo / "dvc.lock").read_text()
    (repo / "dvc.lock").write_text(text[: int(len(text) * keep)])
    if not keep:
        assert run_cmd([sys.executable, "-m", "dvc", "status"], repo, check=False).returncode != 0
        by_hand = run_cmd([sys.executable, "-m", "pipeline.evaluate"], repo, check=False)
        assert by_hand.stderr.splitlines()[-1] == (
            "error: dvc.lock: unreadable (cut by a killed `dvc`?); restore it with `git checkout dvc.lock`"
            " or delete it, then `dvc repro` (the run-cache restores what already ran)"
        )
    (repo / "dvc.lock").unlink()  # the README's recovery, where no commit holds it
    restored = dvc(repo, "repro")
    assert ran(restored) == [] and "is cached - skipping run, checking out outputs" in restored
    assert (repo / "dvc.lock").read_text() == text and up_to_date(repo)
