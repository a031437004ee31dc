"""Trained tiny pipelines shared by the sensitivity, leakage, graph and consistency tests.

Each configuration is a workspace built once per `pytest` session, whichever xdist worker asks
first: it is built under a file lock in the session's shared temporary folder, by copying the
workspace it derives from (cache, dvc.lock and all) and running `dvc repro`, so that only the
stages downstream of what changed re-run. Tests read the workspaces and never write to them.
"""

import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, make_dvc_repo, run_cmd, tiny_reviews, write_archive
from filelock import FileLock

from pipeline.lib.archive import reviews_digest

PER_FOLDER = 60  # reviews per split and label: enough for both models to learn the sentiment words
# Long enough to learn the sentiment words (as tests/test_meaning.py), still seconds.
LEARNED = {
    "model": {"units": 8, "embedding_dim": 8, "dense_units": 16},
    "train": {"epochs": 8, "batch_size": 16, "learning_rate": 0.01},
    "evaluate": {"samples": 1_000, "misclassified": 2},  # predictions.csv lists every test review (120)
}


@dataclass(frozen=True)
class Workspace:
    path: Path
    returncode: int  # of the `dvc repro` that built it
    stdout: str
    stderr: str


def shared_root(factory: pytest.TempPathFactory) -> Path:
    """The session's temporary folder that every xdist worker sees."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def point_at(repo: Path, archive: Path) -> None:
    """params.yaml's data section for `archive`, both digests its own (the real checks, not skipped)."""
    params = read_params(repo)
    params["data"].update(url=str(archive), sha256=sha256(archive), reviews_sha256=reviews_digest(archive))
    write_params(repo, params)


def read_params(repo: Path) -> dict:
    return yaml.safe_load((repo / "params.yaml").read_text())


def write_params(repo: Path, params: dict) -> None:
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def set_key(repo: Path, key: str, value: object) -> None:
    """Set a dotted params.yaml key, e.g. set_key(repo, "pad.maxlen", 12)."""
    params = read_params(repo)
    section, name = key.split(".")
    params[section][name] = value
    write_params(repo, params)


def _build_base(repo: Path, root: Path) -> None:
    archive = write_archive(root / "base.tar.gz", tiny_reviews(PER_FOLDER))
    make_dvc_repo(repo, archive)
    point_at(repo, archive)
    params = read_params(repo)
    for section, values in LEARNED.items():
        params[section].update(values)
    write_params(repo, params)
    run_cmd([sys.executable, "-m", "dvc", "repro", "encode"], repo)
    # pad.maxlen at the median review length: some reviews are padded, others truncated, so that
    # pad.padding and pad.truncating both change what the model sees.
    with np.load(repo / "data/encoded/train.npz") as encoded:
        lengths = np.diff(encoded["offsets"])
    set_key(repo, "pad.maxlen", int(np.median(lengths)))


def workspace(
    factory: pytest.TempPathFactory,
    name: str,
    edit: Callable[[Path, Path], None] | None = None,
    parent: str = "base",
    repro: tuple[str, ...] = ("repro",),
) -> Workspace:
    """The workspace `name`: `parent`'s copy after edit(workspace, shared folder), then `dvc <repro>`.

    "base" is the tiny learned pipeline itself. A name stands for one configuration for the whole
    session: callers that share a name must pass the same edit.
    """
    root = shared_root(factory) / "pipelines"
    root.mkdir(exist_ok=True)
    repo, record = root / name, root / f"{name}.json"
    with FileLock(root / f"{name}.lock"):
        if not record.exists():
            shutil.rmtree(repo, ignore_errors=True)
            if name == "base":
                _build_base(repo, root)
            else:
                shutil.copytree(workspace(factory, parent).path, repo, symlinks=True)
                assert edit is not None, f"workspace {name!r} needs an edit"
                edit(repo, root)
            result = run_cmd([sys.executable, "-m", "dvc", *repro], repo, check=name == "base")
            if name == "base":
                run_cmd(["git", "add", "-A"], repo)
                run_cmd(["git", "commit", "-qm", "tiny learned pipeline"], repo)
            record.write_text(json.dumps([result.returncode, result.stdout, result.stderr]))
    returncode, stdout, stderr = json.loads(record.read_text())
    return Workspace(repo, returncode, stdout, stderr)


def dvc_yaml(repo: Path = ROOT) -> dict:
    return yaml.safe_load((repo / "dvc.yaml").read_text())


def stage_outputs(repo: Path = ROOT) -> dict[str, list[str]]:
    """Each stage's outs, metrics and plots, as dvc.yaml lists them (folders as folders)."""
    outputs = {}
    for stage, spec in dvc_yaml(repo)["stages"].items():
        entries = [*spec.get("outs", []), *spec.get("metrics", []), *spec.get("plots", [])]
        outputs[stage] = [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries]
    return outputs


def output_files(repo: Path) -> dict[str, str]:
    """Every file of every stage output in `repo` -> its md5 (folders expanded, paths relative)."""
    digests = {}
    for outs in stage_outputs(repo).values():
        for out in outs:
            path = repo / out
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for file in files:
                if file.exists():
                    digests[file.relative_to(repo).as_posix()] = hashlib.md5(file.read_bytes()).hexdigest()
    return digests


def owner(file: str) -> str:
    """The stage whose output holds `file`."""
    for stage, outs in stage_outputs().items():
        if any(file == out or file.startswith(out + "/") for out in outs):
            return stage
    raise KeyError(file)


@functools.cache
def dag() -> dict[str, set[str]]:
    """Each stage's direct upstream stages, as `dvc dag --dot` draws this project's dvc.yaml (in a
    scratch DVC repository: the project's own may be a copy without .dvc, as in planted_bugs.py)."""
    with tempfile.TemporaryDirectory() as scratch:
        for name in ("dvc.yaml", "params.yaml"):
            shutil.copy(ROOT / name, scratch)
        run_cmd([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], Path(scratch))
        dot = run_cmd([sys.executable, "-m", "dvc", "dag", "--dot"], Path(scratch)).stdout
    upstream: dict[str, set[str]] = {name: set() for name in re.findall(r'^"(\w+)";$', dot, re.MULTILINE)}
    for source, target in re.findall(r'^"(\w+)" -> "(\w+)";$', dot, re.MULTILINE):
        upstream[target].add(source)
    return upstream


def ancestors(graph: dict[str, set[str]], stage: str) -> set[str]:
    found: set[str] = set()
    todo = list(graph[stage])
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(graph[name])
    return found


def held_out_reviews(repo: Path) -> list[tuple[int, int, int, str]]:
    """(label, id, stars, text on one line) of each test review in the workspace's archive, in the order of
    data/prepared/test.parquet (positives first, then by id)."""
    import tarfile

    rows = []
    with tarfile.open(repo / "data/raw/aclImdb_v1.tar.gz") as tar:
        for member in tar.getmembers():
            match = re.fullmatch(r"aclImdb/test/(pos|neg)/(\d+)_(\d+)\.txt", member.name)
            if match:
                text = tar.extractfile(member).read().decode()
                rows.append((int(match[1] == "pos"), int(match[2]), int(match[3]), " ".join(text.split())))
    return sorted(rows, key=lambda row: (-row[0], row[1]))


def predict_lines(repo: Path, texts: list[str]) -> list[list[str]]:
    """`python -m pipeline.predict` on one review per stdin line: (label, probability, preview) each."""
    out = run_cmd([sys.executable, "-m", "pipeline.predict"], repo, stdin="\n".join(texts) + "\n").stdout
    return [line.split("\t") for line in out.splitlines()]


def mirror(repo: Path) -> Path:
    """The workspace's archive repacked: the same reviews in reverse order, other compression, so
    other bytes (a mirror that data.reviews_sha256 accepts)."""
    import tarfile

    with tarfile.open(repo / "data/raw/aclImdb_v1.tar.gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    return write_archive(repo.parent / f"{repo.name}-mirror.tar.gz", dict(reversed(members.items())), compresslevel=1)


def noise_reviews(per_folder: int = PER_FOLDER, seed: int = 0) -> dict[str, bytes]:
    """Reviews of random words under random labels: nothing to learn, everything to memorise, so
    the training loss keeps falling while the validation loss rises."""
    import random

    rng = random.Random(seed)
    words = [f"word{i}" for i in range(40)]
    members: dict[str, bytes] = {"aclImdb/README": b"noise\n"}
    for split in ("train", "test"):
        for folder, stars in (("pos", 8), ("neg", 2)):
            for i in range(per_folder):
                text = " ".join(rng.choice(words) for _ in range(rng.randint(10, 30)))
                members[f"aclImdb/{split}/{folder}/{i}_{stars}.txt"] = text.encode()
    return members


DIVERGING = {  # no dropout and a fast learner: memorises within a few epochs
    "model.embedding_dropout": 0.0,
    "model.dense_dropout": 0.0,
    "model.units": 16,
    "model.embedding_dim": 16,
    "model.dense_units": 32,
    "train.learning_rate": 0.02,
    "train.epochs": 12,
    "train.early_stopping_patience": 0,
}


def diverging(factory: pytest.TempPathFactory) -> Workspace:
    """The learned pipeline's settings on noise_reviews(), trained past the best validation loss."""

    def edit(repo: Path, _root: Path) -> None:
        point_at(repo, write_archive(repo.parent / "noise.tar.gz", noise_reviews()))
        for key, value in DIVERGING.items():
            set_key(repo, key, value)

    return workspace(factory, "diverging", edit)


Value = object | Callable[[Path, str], object]  # a callable computes it from (the workspace it edits, the key)


def other(*candidates: object) -> Callable[[Path, str], object]:
    """The first candidate that is not the key's value in the workspace: a committed params.yaml
    that happens to hold the row's value must not turn the change into no change."""

    def value(repo: Path, key: str) -> object:
        section, name = key.split(".")
        current = read_params(repo)[section][name]
        return next(candidate for candidate in candidates if candidate != current)

    return value


@dataclass(frozen=True)
class Row:
    """What one params.yaml key reaches.

    change: the key's other (valid) value, with any companion keys it needs; a callable value is
      computed from the copy of the parent workspace.
    reads: the stages that read the key (as dvc.yaml's `params:` lists must say), and "predict"
      if `python -m pipeline.predict` reads it from params.yaml (none: the model carries padding
      and truncating, and the threshold is the one dvc.lock records for evaluate).
    must: output files (fnmatch patterns) whose bytes the change must alter.
    may: output files that depend on the key but that the tiny data need not show it in (a perfect
      classifier's ROC curve). Files of the stages downstream of `must`'s may change too (a
      retrained model may or may not flip a label); every other output must keep its bytes.
    effect: "outputs" (the change reaches `must`), "timing" (no output byte changes: speed, or
      network behaviour, only), "refused" (`dvc repro` fails with `error`), or "elsewhere" (cannot
      change alone here; the named test covers it).
    error: for "refused", what the error line says; for "elsewhere", the test that covers the key.
    base: the workspace the change is made in.
    """

    change: dict[str, Value]
    reads: tuple[str, ...]
    must: tuple[str, ...] = ()
    may: tuple[str, ...] = ()
    effect: str = "outputs"
    error: str = ""
    base: str = "base"


WRONG_DIGEST = "0" * 64
# What any change to training alters: the weights and the loss curves. Accuracy on a few dozen
# rows moves in steps, so its curves may stay put.
TRAINED = (
    "models/*",
    "reports/train/metrics.json",
    "reports/train/train.json",
    "reports/train/validation.json",
    "reports/train/plots/metrics/*/loss.tsv",
    "reports/figures/history.png",
)
SHAPE = (*TRAINED, "reports/model_summary.txt")  # and the summary, when the layers' shapes change
ACCURACY = ("reports/train/plots/metrics/*/accuracy.tsv",)
EMBEDDING = "data/embedding.npz"
EVALUATED = (
    "reports/metrics.json",
    "reports/plots/model/confusion.csv",
    "reports/plots/model/stars.csv",
    "reports/plots/model/length.csv",
    "reports/predictions.csv",
    "reports/misclassified.csv",
    "reports/figures/confusion_matrix.png",
    "reports/plots/model/headline.csv",
)
# Every baseline setting moves its probabilities; the curves and intervals may stay put on tiny data.
BASELINE = {"must": ("reports/baseline_metrics.json", "data/scores/baseline.csv"), "may": ("reports/plots/baseline/*",)}

SENSITIVITY: dict[str, Row] = {
    "data.url": Row({"data.url": lambda repo, _key: str(mirror(repo))}, ("download",), ("data/raw/aclImdb_v1.tar.gz",)),
    "data.sha256": Row(
        {"data.sha256": WRONG_DIGEST, "data.reviews_sha256": WRONG_DIGEST},
        ("download",),
        effect="refused",
        error=f"sha256 mismatch: expected {WRONG_DIGEST}",
    ),
    "data.reviews_sha256": Row(
        {"data.reviews_sha256": WRONG_DIGEST, "data.url": lambda repo, _key: str(mirror(repo))},
        ("download",),
        effect="refused",
        error=f"does not match data.reviews_sha256 {WRONG_DIGEST}",
    ),
    "data.timeout": Row({"data.timeout": other(5, 6)}, ("download",), effect="timing"),
    "data.retries": Row({"data.retries": other(0, 1)}, ("download",), effect="timing"),
    "prepare.reviews_per_split": Row(
        {"prepare.reviews_per_split": 2 * PER_FOLDER + 1},
        ("prepare",),
        effect="refused",
        error=f"has {2 * PER_FOLDER} reviews, expected {2 * PER_FOLDER + 1}",
    ),
    "encode.num_words": Row(
        {"encode.num_words": other(30, 40)},
        ("encode", "embed", "train", "baseline"),
        ("data/encoded/*", "data/padded/*", EMBEDDING, *SHAPE, "reports/metrics.json", *BASELINE["must"]),
        (*ACCURACY, *BASELINE["may"]),
        base="embed.init",  # where the vectors have a row per word
    ),
    "pad.maxlen": Row(
        {"pad.maxlen": lambda repo, _key: read_params(repo)["pad"]["maxlen"] - 2},
        ("pad",),
        ("data/padded/*", *SHAPE, "reports/metrics.json"),
        ACCURACY,
    ),
    "pad.padding": Row({"pad.padding": other("post", "pre")}, ("pad", "train"), ("data/padded/*", *TRAINED), ACCURACY),
    "pad.truncating": Row(
        {"pad.truncating": other("post", "pre")}, ("pad", "train"), ("data/padded/*", *TRAINED), ACCURACY
    ),
    # word2vec on the tiny archive's training and unlabelled reviews: another start, another model.
    "embed.init": Row({"embed.init": other("word2vec", "random")}, ("embed",), (EMBEDDING, *TRAINED), ACCURACY),
    "embed.window": Row({"embed.window": other(2, 3)}, ("embed",), (EMBEDDING, *TRAINED), ACCURACY, base="embed.init"),
    "embed.epochs": Row({"embed.epochs": other(2, 3)}, ("embed",), (EMBEDDING, *TRAINED), ACCURACY, base="embed.init"),
    "model.cell": Row({"model.cell": other("gru", "lstm")}, ("train",), SHAPE, ACCURACY),
    "model.bidirectional": Row({"model.bidirectional": other(True, False)}, ("train",), SHAPE, ACCURACY),
    "model.layers": Row({"model.layers": other(2, 1)}, ("train",), SHAPE, ACCURACY),
    "model.units": Row({"model.units": other(6, 5)}, ("train",), SHAPE, ACCURACY),
    "model.embedding_dim": Row(
        {"model.embedding_dim": other(6, 5)}, ("embed", "train"), (EMBEDDING, *SHAPE), ACCURACY, base="embed.init"
    ),
    "model.embedding_dropout": Row({"model.embedding_dropout": other(0.1, 0.3)}, ("train",), TRAINED, ACCURACY),
    "model.dense_units": Row({"model.dense_units": other(12, 10)}, ("train",), SHAPE, ACCURACY),
    "model.dense_dropout": Row({"model.dense_dropout": other(0.1, 0.3)}, ("train",), TRAINED, ACCURACY),
    # The same maths, in another order: the saved config changes, the weights' last bits may.
    "model.unroll": Row(
        {"model.unroll": other(False, True)}, ("train",), ("models/model.keras",), (*TRAINED, *ACCURACY)
    ),
    "model.pooling": Row({"model.pooling": other("mean", "max")}, ("train",), SHAPE, ACCURACY),
    # The summary lists the mask (a NotEqual on the tokens) as the recurrent layer's second input.
    "model.mask_padding": Row({"model.mask_padding": other(True, False)}, ("train",), SHAPE, ACCURACY),
    "model.spatial_dropout": Row({"model.spatial_dropout": other(0.1, 0.2)}, ("train",), SHAPE, ACCURACY),
    "model.recurrent_dropout": Row({"model.recurrent_dropout": other(0.1, 0.2)}, ("train",), TRAINED, ACCURACY),
    "train.optimizer": Row({"train.optimizer": other("rmsprop", "adam")}, ("train",), TRAINED, ACCURACY),
    "train.learning_rate": Row({"train.learning_rate": other(0.02, 0.005)}, ("train",), TRAINED, ACCURACY),
    "train.batch_size": Row({"train.batch_size": other(12, 10)}, ("train",), TRAINED, ACCURACY),
    "train.epochs": Row({"train.epochs": other(6, 5)}, ("train",), TRAINED, ACCURACY),
    "train.validation_split": Row({"train.validation_split": other(0.3, 0.25)}, ("train",), TRAINED, ACCURACY),
    "train.seed": Row(
        {"train.seed": other(7, 8)}, ("embed", "train"), (EMBEDDING, *TRAINED), ACCURACY, base="embed.init"
    ),
    # Only matters once the losses part ways: on noise, where the validation loss rises.
    "train.early_stopping_patience": Row(
        {"train.early_stopping_patience": other(2, 3)}, ("train",), TRAINED, ACCURACY, base="diverging"
    ),
    # On the learned data the validation loss falls every epoch, so patience alone stops nothing;
    # the validation accuracy reaches its best within two epochs and stops it.
    "train.early_stopping_monitor": Row(
        {"train.early_stopping_monitor": other("val_accuracy", "val_loss"), "train.early_stopping_patience": 2},
        ("train",),
        TRAINED,
        ACCURACY,
    ),
    # One replica on one CPU device: the same maths, so the same bytes; only the speed differs.
    "train.distribute": Row({"train.distribute": other("mirrored", "none")}, ("train",), effect="timing"),
    "train.workers": Row(
        {},
        ("train",),
        effect="elsewhere",
        error="tests/test_multi_worker.py::test_two_workers_compute_what_one_process_computes",
    ),
    "evaluate.threshold": Row(
        {"evaluate.threshold": other(1e-6, 2e-6)},  # every review positive, where 0.5 splits them
        ("evaluate", "baseline"),
        (*EVALUATED, "reports/baseline_metrics.json", "reports/plots/baseline/headline.csv"),
    ),
    "evaluate.samples": Row({"evaluate.samples": other(3, 4)}, ("evaluate",), ("reports/predictions.csv",)),
    "evaluate.misclassified": Row(
        {"evaluate.misclassified": other(3, 4)}, ("evaluate",), ("reports/misclassified.csv",)
    ),
    # Which reviews are sampled: only seen when not every review is (evaluate.samples = 3).
    "evaluate.seed": Row(
        {"evaluate.seed": other(1, 2)}, ("evaluate",), ("reports/predictions.csv",), base="evaluate.samples"
    ),
    "baseline.max_features": Row({"baseline.max_features": other(20, 25)}, ("baseline",), **BASELINE),
    "baseline.ngram_max": Row({"baseline.ngram_max": other(2, 1)}, ("baseline",), **BASELINE),
    "baseline.C": Row({"baseline.C": other(0.1, 1.0)}, ("baseline",), **BASELINE),
}


def key_workspace(factory: pytest.TempPathFactory, key: str) -> Workspace:
    """The workspace of SENSITIVITY[key]'s change (its base's built first)."""
    row = SENSITIVITY[key]

    def edit(repo: Path, _root: Path) -> None:
        for name, value in row.change.items():
            set_key(repo, name, value(repo, name) if callable(value) else value)

    built(factory, row.base)
    # A key that only train and embed (train's input) read: evaluate's outputs may change anyway, so
    # it need not re-run.
    repro = ("repro", "train") if set(row.reads) <= {"embed", "train"} and row.effect != "elsewhere" else ("repro",)
    return workspace(factory, key, edit, parent=row.base, repro=repro)


def built(factory: pytest.TempPathFactory, name: str) -> Workspace:
    """Any named workspace: "base", "diverging" or a key of SENSITIVITY."""
    if name == "diverging":
        return diverging(factory)
    return key_workspace(factory, name) if name in SENSITIVITY else workspace(factory, name)
