"""predict: the pipeline's own preprocessing, and clear errors for bad input."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, tiny_params

from pipeline.lib import paths
from pipeline.lib.model import build_model


@pytest.fixture
def model_repo(tmp_path: Path) -> Path:
    """A working directory with params, a vocabulary and an (untrained) model of the tiny shape."""
    params = tiny_params(tmp_path / "unused.tar.gz")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / paths.VOCAB).parent.mkdir(parents=True)
    (tmp_path / paths.VOCAB).write_text(json.dumps({"num_words": 50, "words": ["the", "film", "great"]}))
    (tmp_path / paths.MODEL).parent.mkdir(parents=True)
    build_model(50, params["pad"]["maxlen"], copy.deepcopy(params["model"])).save(tmp_path / paths.MODEL)
    return tmp_path


def predict(repo: Path, *args: str, stdin: str | bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.predict", *args],
        cwd=repo,
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_arguments_stdin_and_a_very_long_review(model_repo: Path) -> None:
    long_review = "the film was great <br /> " * 5000
    lines = predict(model_repo, stdin=f"The film.\n\n{long_review}\n").stdout.decode().splitlines()
    assert len(lines) == 2
    assert all(line.split("\t")[0] in ("positive", "negative") for line in lines)
    assert lines[1].endswith("...") and len(lines[1].split("\t")[2]) == 60
    out = predict(model_repo, "great film", "the").stdout.decode()
    assert [line.split("\t")[2] for line in out.splitlines()] == ["great film", "the"]


def test_empty_input(model_repo: Path) -> None:
    result = predict(model_repo, stdin="\n  \n")
    assert result.returncode == 1
    assert result.stderr.decode() == (
        "error: no review to classify: pass text as arguments, --file FILE, or lines on stdin\n"
    )


def test_binary_file(model_repo: Path) -> None:
    (model_repo / "blob.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = predict(model_repo, "--file", "blob.bin")
    assert result.returncode == 1
    assert (
        result.stderr.decode() == "error: blob.bin: binary data (NUL bytes), expected text with one review per line\n"
    )


def test_missing_model_says_to_run_dvc_repro(model_repo: Path) -> None:
    (model_repo / paths.MODEL).unlink()
    result = predict(model_repo, "a review")
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[-1] == f"error: {paths.MODEL}: not found; run `dvc repro` to build it"
