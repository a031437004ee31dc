"""Same commit, same bytes: pinned kernels, identical retrains, the run-cache, params that can't destroy results."""

import hashlib
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from conftest import dvc, make_dvc_repo, ran, run_cmd, tiny_reviews, write_archive

# md5 of models/model.keras from the tiny pipeline (tests/conftest.py), by the CPUs it was seen on
# with the pinned packages; it changes only with the fixture, the model, the training code or a
# package version, and then on purpose. Two CPU families give two models, although oneDNN runs its
# AVX2 kernels on both (docs: reproducibility); a third would show up here.
GOLDEN_MODEL_MD5 = {
    "e79ee924910892d9411b8f07f21082d4": "AMD EPYC, with and without AVX-512",
    "91b2ba41845bee3e371a1a58fc769576": "Intel Xeon with AMX (Sapphire Rapids)",
}


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny pipeline, run and committed once for this module."""
    root = tmp_path_factory.mktemp("reproducibility")
    repo = make_dvc_repo(root / "origin", write_archive(root / "aclImdb_v1.tar.gz", tiny_reviews()))
    dvc(repo, "repro")
    run_cmd(["git", "add", "-A"], repo)
    run_cmd(["git", "commit", "-qm", "tiny run"], repo)
    return repo


@pytest.fixture
def clone(trained: Path, tmp_path: Path) -> Path:
    """A teammate's clone sharing the origin's cache (and so its run-cache), outputs checked out."""
    repo = tmp_path / "clone"
    run_cmd(["git", "clone", "-q", str(trained), str(repo)], tmp_path)
    dvc(repo, "cache", "dir", "--local", str(trained / ".dvc" / "cache"))
    dvc(repo, "checkout")
    return repo


def test_the_tiny_model_has_the_committed_bytes(trained: Path) -> None:
    assert md5(trained / "models" / "model.keras") in GOLDEN_MODEL_MD5


@pytest.mark.parametrize(
    "environment",
    [
        {"TF_ENABLE_ONEDNN_OPTS": "1"},  # what TensorFlow picks by itself on AVX-512 VNNI CPUs
        {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX"},  # the widest kernels this CPU has
        {"ONEDNN_MAX_CPU_ISA": "SSE41", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
    ],
    ids=["onednn-rewrites", "widest-isa", "sse41-one-thread"],
)
def test_pinned_kernels_win_over_the_environment(trained: Path, clone: Path, environment: dict[str, str]) -> None:
    run_cmd([sys.executable, "-m", "pipeline.train"], clone, **environment)
    assert md5(clone / "models" / "model.keras") == md5(trained / "models" / "model.keras")


def test_an_identical_retrain_leaves_dvc_lock_unchanged(clone: Path) -> None:
    lock = (clone / "dvc.lock").read_text()
    assert ran(dvc(clone, "repro", "--force", "--single-item", "train")) == ["train"]
    assert (clone / "dvc.lock").read_text() == lock
    assert "up to date" in dvc(clone, "status")  # so evaluate has nothing to re-run


def test_every_stage_is_restored_from_the_run_cache(clone: Path) -> None:
    outputs = {path: md5(path) for path in sorted((clone / "reports").rglob("*")) if path.is_file()}
    assert ran(dvc(clone, "exp", "run", "-S", "model.cell=gru")) == ["check", "train", "evaluate"]
    run_cmd(["git", "checkout", "--", "params.yaml"], clone)
    restored = dvc(clone, "repro")
    assert ran(restored) == []
    assert restored.count("is cached - skipping run") == 3  # check, train, evaluate

    for folder in ("data", "models", "reports"):
        shutil.rmtree(clone / folder)
    restored = dvc(clone, "repro")
    assert ran(restored) == []
    assert restored.count("is cached - skipping run") == 9
    assert {path: md5(path) for path in outputs} == outputs
    assert "up to date" in dvc(clone, "status")


BAD_EDITS = {
    "renamed key": (
        lambda p: p["train"].update(epoch=p["train"].pop("epochs")),
        "error: params.yaml: unknown key train.epoch: did you mean train.epochs?",
    ),
    "negative maxlen": (
        lambda p: p["pad"].update(maxlen=-5),
        "error: params.yaml: pad.maxlen = -5 is invalid: expected an integer in [1, 10000]",
    ),
    "unknown cell": (
        lambda p: p["model"].update(cell="transformer"),
        "error: params.yaml: model.cell = 'transformer' is invalid: expected one of simple_rnn, lstm, gru",
    ),
    "unknown section": (
        lambda p: p.update(trian=dict(p["train"])),  # a copy: a shared dict is dumped as a YAML alias
        "error: params.yaml: unknown section 'trian': did you mean train?",
    ),
}


@pytest.mark.parametrize("edit", BAD_EDITS, ids=list(BAD_EDITS))
def test_a_bad_params_edit_fails_in_one_line_and_keeps_every_output(clone: Path, edit: str) -> None:
    change, message = BAD_EDITS[edit]
    before = {path: md5(path) for path in sorted(clone.glob("[dmr]*/**/*")) if path.is_file()}
    params = yaml.safe_load((clone / "params.yaml").read_text())
    change(params)
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    result = run_cmd([sys.executable, "-m", "dvc", "repro", "train"], clone, check=False)  # check is upstream of it
    assert result.returncode != 0
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [message]
    assert "Traceback" not in result.stderr
    assert ran(result.stdout) == ["check"]
    after = {path: md5(path) for path in sorted(clone.glob("[dmr]*/**/*")) if path.is_file()}
    del before[clone / "data" / "params_schema.json"]  # the check's own output, restored by the next good run
    assert after == before


def test_mirrored_training_through_the_stage(trained: Path, clone: Path) -> None:
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["train"]["distribute"] = "mirrored"
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # One replica on one CPU device: the same maths, so the same model, and evaluate has nothing to do.
    assert ran(dvc(clone, "repro")) == ["check", "train"]
    assert md5(clone / "models" / "model.keras") == md5(trained / "models" / "model.keras")
