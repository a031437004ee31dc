"""predict: the pipeline's own preprocessing, Keras' probabilities without TensorFlow, and clear errors."""

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, tiny_params

from pipeline.lib import inference, paths
from pipeline.lib.cleaning import clean_text
from pipeline.lib.model import build_model, export_weights
from pipeline.lib.padding import pad_sequences
from pipeline.lib.tokenizer import texts_to_sequences

VOCAB = ["the", "film", "great", "awful", "plot", "was"]


@pytest.fixture
def model_repo(tmp_path: Path) -> Path:
    return make_model_repo(tmp_path)


def make_model_repo(tmp_path: Path, **options: object) -> Path:
    """A working directory with params, a vocabulary, an (untrained) model of the tiny shape, saved
    as train saves it (the .keras file and the weights predict reads, with their preprocessing), and
    the dvc.lock of an evaluate run at threshold 0.5."""
    params = tiny_params(tmp_path / "unused.tar.gz")
    params["model"].update(cell="lstm", bidirectional=True)  # the CLI test below covers a gated, two-way model
    params["model"].update(options)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / paths.VOCAB).parent.mkdir(parents=True)
    (tmp_path / paths.VOCAB).write_text(json.dumps({"num_words": 50, "words": VOCAB}))
    (tmp_path / paths.MODEL).parent.mkdir(parents=True)
    model = build_model(50, params["pad"]["maxlen"], copy.deepcopy(params["model"]))
    rng = np.random.default_rng(0)  # weights that spread the probabilities out
    model.set_weights([rng.normal(0, 0.8, w.shape).astype(np.float32) for w in model.get_weights()])
    model.save(tmp_path / paths.MODEL)
    preprocessing = {"padding": params["pad"]["padding"], "truncating": params["pad"]["truncating"], "words": VOCAB}
    export_weights(model, tmp_path / paths.MODEL_WEIGHTS, preprocessing)
    lock = {"schema": "2.0", "stages": {"evaluate": {"cmd": "python -m pipeline.evaluate", "params": {}}}}
    lock["stages"]["evaluate"]["params"]["params.yaml"] = {"evaluate": params["evaluate"]}
    (tmp_path / paths.DVC_LOCK).write_text(yaml.safe_dump(lock))
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


def test_one_output_line_per_input_line(model_repo: Path) -> None:
    long_review = "the film was great <br /> " * 5000
    result = predict(model_repo, stdin=f"The film.\n\n{long_review}\nthe\tgreat\n")
    rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
    assert [row[0].rstrip("?") in ("positive", "negative") for row in rows] == [True, False, True, True]
    assert rows[1] == ["-", "-", ""]
    assert rows[2][2].endswith("...") and len(rows[2][2]) == 60
    assert rows[3][2] == "the great"  # tabs and newlines never break a row
    assert "line 2 is blank: not classified" in result.stderr.decode()


def test_arguments_are_one_review(model_repo: Path) -> None:
    out = predict(model_repo, "great", "film", "the").stdout.decode()
    assert [line.split("\t")[2] for line in out.splitlines()] == ["great film the"]
    result = predict(model_repo, "")
    assert result.returncode == 1
    assert result.stderr.decode() == 'error: the review is empty: pass its text, e.g. "A fine film."\n'


def test_few_known_words_are_flagged(model_repo: Path) -> None:
    result = predict(model_repo, stdin="東京 🎬 <b>wow</b>\nthe film great\n")
    labels = [line.split("\t")[0] for line in result.stdout.decode().splitlines()]
    assert labels[0].endswith("?") and not labels[1].endswith("?")
    assert "line 1: only 0 word(s) in the vocabulary; the label means little" in result.stderr.decode()
    assert "line 2" not in result.stderr.decode()


def test_a_review_a_mean_over_no_step_cannot_classify_is_not_classified(tmp_path: Path) -> None:
    """Masking with mean pooling: a review with no known word has no step to average (NaN, as in Keras)."""
    repo = make_model_repo(tmp_path, mask_padding=True, pooling="max_mean", unroll=False)
    result = predict(repo, stdin="東京 wow\nthe film great\n")
    rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
    assert rows[0] == ["-", "-", "東京 wow"] and rows[1][0] in ("positive", "negative")
    assert "line 1: no word of it is in the vocabulary: not classified" in result.stderr.decode()


def test_undecodable_bytes_are_warned_about(model_repo: Path) -> None:
    (model_repo / "latin1.txt").write_bytes("the film\ncaf\xe9 great\n".encode("latin-1"))
    result = predict(model_repo, "--file", "latin1.txt")
    assert result.returncode == 0
    assert "latin1.txt: line 2 is not valid UTF-8; undecodable bytes read as U+FFFD" in result.stderr.decode()
    assert result.stdout.decode().splitlines()[1].endswith("caf\ufffd great")


def test_runs_from_any_directory_of_the_clone(model_repo: Path) -> None:
    shutil.copy(ROOT / "dvc.yaml", model_repo)  # what marks the clone's root, as for DVC
    (model_repo / "notes").mkdir()
    (model_repo / "notes" / "r.txt").write_text("the film\n")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.predict", "--file", "r.txt"],
        cwd=model_repo / "notes",
        capture_output=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split("\t")[2] == "the film\n"


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
    (model_repo / paths.MODEL_WEIGHTS).unlink()
    result = predict(model_repo, "a review")
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[-1] == (
        f"error: {paths.MODEL_WEIGHTS}: not found; run `dvc repro` to build it"
    )


def test_the_cli_prints_keras_probabilities_without_tensorflow(model_repo: Path) -> None:
    from pipeline.lib.backend import keras

    reviews = ["the film was great", "awful plot", "the the film awful great plot was", "great " * 40]
    code = (
        "import runpy, sys; sys.argv = ['predict']; runpy.run_module('pipeline.predict', run_name='__main__');"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=model_repo,
        input="\n".join(reviews).encode(),
        capture_output=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr.decode().splitlines()[-1] == "[]"  # TensorFlow never loaded
    pad = yaml.safe_load((model_repo / "params.yaml").read_text())["pad"]
    tokens, offsets = texts_to_sequences([clean_text(review) for review in reviews], VOCAB)
    x = pad_sequences(tokens, offsets, pad["maxlen"], pad["padding"], pad["truncating"])
    model = keras.saving.load_model(model_repo / paths.MODEL, compile=False)
    expected = [f"{p:.4f}" for p in model.predict(x, verbose=0).ravel()]
    assert len(set(expected)) == len(reviews)
    assert [line.split("\t")[1] for line in result.stdout.decode().splitlines()] == expected


REVIEWS = "the film was great\nawful plot\nthe the film awful great plot was\n" + "great plot " * 15 + "awful\n"


def test_answers_do_not_move_with_params_edited_since_training(model_repo: Path) -> None:
    """Padding, truncating and threshold edited in params.yaml without `dvc repro`: predict still pads
    as the model was trained and labels as evaluate last did."""
    from pipeline.predict import predict_proba

    before = predict(model_repo, stdin=REVIEWS)
    assert before.returncode == 0, before.stderr.decode()
    params = yaml.safe_load((model_repo / "params.yaml").read_text())
    params["pad"].update(padding="post", truncating="post")
    params["evaluate"]["threshold"] = 0.15
    (model_repo / "params.yaml").write_text(yaml.safe_dump(params))
    after = predict(model_repo, stdin=REVIEWS)
    assert after.stdout == before.stdout
    # The edits would have moved the answers: other probabilities, and labels between the thresholds.
    spec, weights = inference.load(model_repo / paths.MODEL_WEIGHTS)
    reviews = REVIEWS.splitlines()
    trained, _ = predict_proba(spec, weights, reviews)
    edited, _ = predict_proba({**spec, "padding": "post", "truncating": "post"}, weights, reviews)
    assert not np.allclose(trained, edited, atol=1e-4)
    assert any(0.15 <= p < 0.5 for p in trained)


def test_the_threshold_is_the_one_evaluate_last_used(model_repo: Path) -> None:
    labels = [line.split("\t")[0] for line in predict(model_repo, stdin=REVIEWS).stdout.decode().splitlines()]
    lock = yaml.safe_load((model_repo / paths.DVC_LOCK).read_text())
    lock["stages"]["evaluate"]["params"]["params.yaml"]["evaluate"]["threshold"] = 0.15
    (model_repo / paths.DVC_LOCK).write_text(yaml.safe_dump(lock))
    result = predict(model_repo, stdin=REVIEWS)
    assert [line.split("\t")[0] for line in result.stdout.decode().splitlines()] != labels
    (model_repo / paths.DVC_LOCK).unlink()
    result = predict(model_repo, "a review")
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[-1] == (
        "error: dvc.lock records no evaluate.threshold: run `dvc repro` to evaluate the model"
    )
