"""Stage `train`: fit the network of params.yaml on data/padded/train.npz.

The validation set is a stratified, shuffled split made with the seed, not Keras'
`validation_split`, which takes the last 20% of the (positives-then-negatives) rows:
all negative. Per-epoch metrics go to DVCLive, whose TSVs dvc.yaml plots; its summary of the last
epoch is rewritten as a row per split (reports/train/train.json, validation.json), the metrics.

Under train.distribute = multi_worker the same command runs on every worker of TF_CONFIG's
cluster (pipeline/lib/multi_worker.py); only the chief, worker 0, writes outputs.
"""

import contextlib
import json
import logging
import math
import time
from functools import partial
from pathlib import Path

from pipeline.lib.backend import exit_without_teardown, keras, portability_warning  # first: pins, loads TF

# isort: split
import numpy as np
import tensorflow as tf
from dvclive import Live
from dvclive.keras import DVCLiveCallback
from scmrepo.exceptions import SCMError

from pipeline.lib import history_figure, multi_worker, params, paths, vocabulary
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import atomic_path, load_npz, map_npz, require, write_json, write_text
from pipeline.lib.model import build_model, export_weights, recurrent_checks, save_model
from pipeline.lib.variants import OPTIMIZERS

log = logging.getLogger("train")

# What this stage reads of params.yaml; dvc.yaml's `params:` lists the same (tests/test_params.py).
PARAMS = ("encode.num_words", "pad.padding", "pad.truncating", "model", "train")

# DVCLive's summary as a row per split, beside metrics.json in DVCLive's folder (paths.TRAIN_LOG),
# whose files DVCLive names: `dvc metrics show` lines these rows up with evaluate's and baseline's.
SCORES = {"train": "train.json", "eval": "validation.json"}

# Batches per call into the compiled graph: the same updates in the same order, with less
# Python overhead per step, which dominates for a model this small (about 20% per epoch).
STEPS_PER_EXECUTION = 25


def set_determinism(seed: int) -> None:
    """Same params and data give the same weights on the same machine."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def compile_model(model: keras.Model, settings: dict) -> None:
    """The optimizer, loss and execution settings of params.yaml's `train` (benchmarks/training.py uses them too)."""
    model.compile(
        optimizer=getattr(keras.optimizers, OPTIMIZERS[settings["optimizer"]])(learning_rate=settings["learning_rate"]),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )


def make_strategy(name: str) -> tf.distribute.Strategy:
    """TensorFlow's own distribution; Keras treats batch_size as the global batch under it.

    mirrored: one replica per local GPU, or per logical CPU device where there is no GPU.
    """
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    return tf.distribute.get_strategy()


def summary_text(model: keras.Model, config: dict) -> str:
    """Keras' layer table, then each recurrent layer's count checked against the formula."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    lines.append("")
    lines.append("Recurrent parameters, (h + x) * h + h per weight block (h units, x inputs):")
    for name, expected in recurrent_checks(config):
        actual = model.get_layer(name).count_params()
        if actual != expected:
            raise PipelineError(f"{name}: Keras counts {actual} parameters, the formula {expected}")
        lines.append(f"  {name}: {actual} = formula {expected}  OK")
    return "\n".join(lines) + "\n"


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Each class's share of `draws`, rounded down; the rest go to the largest remainders, ties at random."""
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    need = int(draws - floored.sum())
    remainder = continuous - floored
    for value in np.sort(np.unique(remainder))[::-1]:
        if need == 0:
            break
        (tied,) = np.where(remainder == value)
        add = min(len(tied), need)
        floored[rng.choice(tied, size=add, replace=False)] += 1
        need -= add
    return floored.astype(int)


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified, shuffled hold-out: both labels in the same proportion as in training.

    scikit-learn's train_test_split(stratify=y, random_state=seed), step by step with the same
    random draws (a test compares them): importing sklearn.model_selection costs the stage 1.5 s.
    """
    n_test = math.ceil(fraction * len(y))
    n_train = len(y) - n_test
    classes, y_indices, counts = np.unique(y, return_inverse=True, return_counts=True)
    if counts.min() < 2 or min(n_train, n_test) < len(classes):
        raise PipelineError(
            f"train.validation_split = {fraction}: {n_train} training and {n_test} validation reviews "
            f"cannot both hold each of the {len(classes)} labels (the rarest has {counts.min()} reviews)"
        )
    by_class = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)
    train_counts = _approximate_mode(counts, n_train, rng)
    test_counts = _approximate_mode(counts - train_counts, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for members, n, t in zip(by_class, train_counts, test_counts, strict=True):
        shuffled = members.take(rng.permutation(len(members)))
        train.extend(shuffled[:n])
        test.extend(shuffled[n : n + t])
    train_rows, test_rows = rng.permutation(train), rng.permutation(test)
    return x[train_rows], x[test_rows], y[train_rows], y[test_rows]


def start_embedding(model: keras.Model, vectors: np.ndarray) -> None:
    """The embed stage's vectors as the Embedding layer's first weights, after Keras drew its random
    ones (so the other layers' draws stay those of a random start); none: the random start stays."""
    if not vectors.size:
        return
    layer = model.get_layer("embedding")
    expected = tuple(layer.embeddings.shape)
    if vectors.shape != expected:
        raise PipelineError(
            f"{paths.EMBEDDING}: vectors of shape {vectors.shape}, the embedding needs {expected};"
            " run `dvc repro embed`"
        )
    layer.set_weights([vectors])


def start_live(model: keras.Model, folder: Path) -> Live:
    try:
        live = Live(str(folder), dvcyaml=False, save_dvc_exp=False)
    except SCMError as error:  # DVCLive reads the current commit, and an empty repository has none
        raise PipelineError(f"DVCLive cannot start ({error}): make a first git commit, then run again") from None
    live.summary["parameters"] = model.count_params()  # beside the scores in `dvc exp show`
    return live


def write_scores(folder: Path) -> None:
    """DVCLive's summary in `folder` as one row per split: `dvc metrics show` then lines them up
    with evaluate's and baseline's scores in their columns (accuracy, loss), where DVCLive's own
    keys (train.accuracy, eval.loss, ...) would each add a column."""
    summary = json.loads((folder / "metrics.json").read_text())
    training = {**summary["train"], "epochs": summary["step"] + 1, "parameters": summary["parameters"]}
    write_json(folder / SCORES["train"], training)
    write_json(folder / SCORES["eval"], summary["eval"])


def train(p: dict, cluster: multi_worker.Cluster | None = None) -> None:
    """Train and save the model; on a worker of a cluster other than the chief, train only."""
    config, settings = p["model"], p["train"]
    data = map_npz(require(paths.split_file(paths.PADDED, "train", ".npz")))  # no copy until the split
    # What predict must repeat on new text, carried in the exported model (padding is not in the data).
    preprocessing = {"padding": p["pad"]["padding"], "truncating": p["pad"]["truncating"], "words": vocabulary.load()}
    set_determinism(settings["seed"])
    if warning := portability_warning():
        log.warning(warning)
    x_train, x_val, y_train, y_val = split_validation(
        data["x"], data["y"], settings["validation_split"], settings["seed"]
    )
    strategy = multi_worker.connect(cluster) if cluster else make_strategy(settings["distribute"])
    chief = cluster is None or cluster.chief
    with strategy.scope():
        model = build_model(p["encode"]["num_words"], data["x"].shape[1], config)
        start_embedding(model, load_npz(require(paths.EMBEDDING))["vectors"])
        compile_model(model, settings)
    summary = summary_text(model, config)
    print(summary)
    # DVCLive writes its logs epoch by epoch: aside, put in place with the other outputs at the end,
    # so an interrupted run leaves no epoch of its own beside another run's metrics.
    with atomic_path(paths.TRAIN_LOG) if chief else contextlib.nullcontext(None) as live_folder:
        callbacks: list[keras.callbacks.Callback] = []
        if live_folder is not None:
            callbacks.append(DVCLiveCallback(live=start_live(model, live_folder)))
        if settings["early_stopping_patience"]:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=settings["early_stopping_monitor"],
                    patience=settings["early_stopping_patience"],
                    restore_best_weights=True,
                )
            )
        started = time.perf_counter()
        if cluster:
            history = multi_worker.fit(
                model,
                strategy,
                (x_train, y_train),
                (x_val, y_val),
                batch_size=settings["batch_size"],
                epochs=settings["epochs"],
                seed=settings["seed"],
                callbacks=callbacks,
            )
        else:
            history = model.fit(
                x_train,
                y_train,
                batch_size=settings["batch_size"],
                epochs=settings["epochs"],
                validation_data=(x_val, y_val),
                callbacks=callbacks,
                verbose=2,
            )
        # Logged, not saved: a wall time in an output would change dvc.lock on every identical retrain.
        log.info("fit: %.1f s for %d epochs", time.perf_counter() - started, len(history.epoch))
        if live_folder is not None:
            write_scores(live_folder)
        if chief:
            write_text(paths.MODEL_SUMMARY, summary)
            history_figure.training_history(history.history, paths.FIGURES / "history.png")
            save_model(model, paths.MODEL)
            export_weights(model, paths.MODEL_WEIGHTS, preprocessing)  # what predict reads: it runs without TensorFlow
            log.info("saved %s and %s", paths.MODEL, paths.MODEL_WEIGHTS)


def main() -> None:
    p = params.load(PARAMS)
    if p["train"]["distribute"] == "multi_worker":
        cluster = multi_worker.cluster_from_environment(p["train"]["workers"])
        multi_worker.run_in_cluster(partial(train, p), cluster)
    else:
        train(p)


if __name__ == "__main__":
    run(main)
    exit_without_teardown()
