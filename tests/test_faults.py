"""Faults: killed runs, half-written outputs, and one-line errors from the stage commands."""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, environment, run_cmd, set_params

from pipeline.lib.cli import PipelineError
from pipeline.lib.files import atomic_path, load_npz, map_npz, save_npz


def test_atomic_path_publishes_only_complete_files(tmp_path: Path) -> None:
    target = tmp_path / "out" / "model.keras"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert not target.exists() and list(target.parent.iterdir()) == []

    stale = target.with_name(".model.tmp999999.keras")  # left by a SIGKILLed run
    stale.write_text("stale")
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    assert list(target.parent.iterdir()) == [target]


def test_corrupt_archive_stops_prepare_with_one_line(dvc_repo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 50)
    params = (dvc_repo / "params.yaml").read_text()
    url = next(line.split(": ", 1)[1] for line in params.splitlines() if line.strip().startswith("url:"))
    (dvc_repo / "params.yaml").write_text(params.replace(url, str(broken)))
    set_params(dvc_repo, data__sha256=hashlib.sha256(broken.read_bytes()).hexdigest())
    result = run_cmd([sys.executable, "-m", "dvc", "repro", "prepare"], dvc_repo, check=False)
    assert result.returncode != 0
    assert "error: data/raw/aclImdb_v1.tar.gz: not a readable .tar.gz archive" in result.stderr
    assert not (dvc_repo / "data" / "prepared").exists()


def test_killed_repro_then_repro_gives_the_uninterrupted_results(dvc_repo: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    run_cmd(["git", "clone", "-q", str(dvc_repo), str(clean)], tmp_path)
    run_cmd([sys.executable, "-m", "dvc", "repro"], clean)

    repro = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro"],
        cwd=dvc_repo,
        env=environment(),
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert repro.stdout is not None
    for line in repro.stdout:  # kill the whole process group once training has started
        if line.startswith("Epoch 1/"):
            os.killpg(repro.pid, signal.SIGKILL)
            break
    repro.wait()
    assert repro.returncode == -signal.SIGKILL

    run_cmd([sys.executable, "-m", "dvc", "repro"], dvc_repo)
    for name in ("metrics.json", "baseline_metrics.json"):
        resumed = json.loads((dvc_repo / "reports" / name).read_text())
        assert resumed == json.loads((clean / "reports" / name).read_text())
    assert not list((dvc_repo / "models").glob(".*tmp*"))


def test_train_in_a_repository_without_commits_says_what_to_do(tmp_path: Path, tiny_archive: Path) -> None:
    import numpy as np
    import yaml
    from conftest import tiny_params

    from pipeline.lib.files import save_npz

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params(tiny_archive)))
    rng = np.random.default_rng(0)
    save_npz(tmp_path / "data/padded/train.npz", x=rng.integers(0, 50, (20, 20)), y=np.arange(20) % 2)
    (tmp_path / "data/encoded").mkdir(parents=True)
    (tmp_path / "data/encoded/vocab.json").write_text('{"num_words": 50, "words": ["film"]}')
    save_npz(tmp_path / "data/embedding.npz", vectors=np.zeros((0, 8), np.float32))  # embed.init: random
    run_cmd(["git", "init", "-q"], tmp_path)
    result = run_cmd([sys.executable, "-m", "pipeline.train"], tmp_path, check=False, PYTHONPATH=str(ROOT))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("error: DVCLive cannot start")
    assert "make a first git commit" in result.stderr and "Traceback" not in result.stderr


def test_a_damaged_npz_is_named_whether_mapped_or_loaded(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    save_npz(path, x=np.arange(1000, dtype=np.int32).reshape(10, 100), y=np.arange(10))
    assert map_npz(path)["x"][3, 7] == 307 and load_npz(path)["y"][9] == 9
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside x's values: only its CRC tells
    path.write_bytes(bytes(data))
    expected = rf"{re.escape(str(path))}: damaged \(.*CRC.*\); restore it with `dvc checkout --relink --force .*`"
    with pytest.raises(PipelineError, match=expected):
        map_npz(path)
    with pytest.raises(PipelineError, match=expected):
        load_npz(path)
    path.write_bytes(bytes(data[:-200]))  # cut
    with pytest.raises(PipelineError, match=r": damaged \("):
        map_npz(path)
