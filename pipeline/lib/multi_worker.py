"""Training on several machines: tf.distribute.MultiWorkerMirroredStrategy with a custom training loop.

Keras 3's `model.fit` fails under this strategy with the pinned versions (keras-team/keras issue
20585), so the loop here is TensorFlow's documented one: `strategy.run` computes each worker's
gradients on its share of the global batch, and the Keras optimizer sums them across workers
with TensorFlow's collective all-reduce before it applies them, so every worker ends each step
with the same weights. The epochs, metrics and callbacks are those of `fit`.

The cluster is the one TF_CONFIG describes, as TensorFlow reads it; worker 0 is the chief.
"""

import hashlib
import json
import logging
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np

from pipeline.lib.backend import keras  # first: it pins and loads TensorFlow

# isort: split
import tensorflow as tf

from pipeline.lib.cli import PipelineError, debug_enabled, run

log = logging.getLogger("train")

EXAMPLE = '{"cluster": {"worker": ["host0:2222", "host1:2222"]}, "task": {"type": "worker", "index": 0}}'
ADDRESS = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]/]+):\d{1,5}")
TIMEOUT_VARIABLE = "PIPELINE_CLUSTER_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
# Steps per call into the compiled graph, as fit's steps_per_execution in train.py: the same updates
# in the same order, with one return to Python per call instead of one per step.
STEPS_PER_CALL = 25


@dataclass(frozen=True)
class Cluster:
    """This worker's place in TF_CONFIG's cluster; in the training process, the pipe on which it
    tells the waiting parent that it starts connecting, then that the cluster is complete."""

    workers: tuple[str, ...]
    index: int
    report: Connection | None = None

    @property
    def chief(self) -> bool:
        return self.index == 0


def cluster_from_environment(expected_workers: int) -> Cluster:
    """TF_CONFIG, checked, so that a typo is one line here rather than a hang or a traceback in TensorFlow."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        raise PipelineError(f"train.distribute = multi_worker needs TF_CONFIG on every worker, e.g. {EXAMPLE}")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise PipelineError(f"TF_CONFIG is not valid JSON ({error}); expected e.g. {EXAMPLE}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    workers = cluster.get("worker") if isinstance(cluster, dict) else None
    if not (isinstance(workers, list) and workers and all(ADDRESS.fullmatch(str(w)) for w in workers)):
        raise PipelineError(f"TF_CONFIG: cluster.worker must be a list of host:port addresses, got {workers!r}")
    if others := sorted(set(cluster) - {"worker"}):
        raise PipelineError(
            f"TF_CONFIG: the cluster lists {', '.join(others)}: only workers are supported (worker 0 is the chief)"
        )
    if len(set(workers)) < len(workers):
        raise PipelineError(f"TF_CONFIG: cluster.worker lists an address twice: {workers}")
    task = config.get("task")
    kind, index = (task.get("type"), task.get("index")) if isinstance(task, dict) else (None, None)
    if not (kind == "worker" and type(index) is int and 0 <= index < len(workers)):
        raise PipelineError(
            f'TF_CONFIG: task must be {{"type": "worker", "index": 0..{len(workers) - 1}}}, got {json.dumps(task)}'
        )
    if len(workers) != expected_workers:
        raise PipelineError(
            f"TF_CONFIG lists {len(workers)} workers but params.yaml has train.workers = {expected_workers}"
        )
    return Cluster(tuple(workers), index)


def cluster_timeout() -> float:
    """How long a worker waits for the others: PIPELINE_CLUSTER_TIMEOUT seconds, or DEFAULT_TIMEOUT."""
    raw = os.environ.get(TIMEOUT_VARIABLE, "")
    try:
        seconds = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise PipelineError(f"{TIMEOUT_VARIABLE} = {raw!r}: expected a number of seconds > 0")
    return seconds


def run_in_cluster(train: Callable[[Cluster], None], cluster: Cluster) -> None:
    """Run train(cluster) in a child process; end it if the cluster is not complete within the timeout.

    TensorFlow waits for the other workers inside MultiWorkerMirroredStrategy() while it holds
    Python's interpreter lock, for an hour by default, and offers no public setting for it: no
    thread of the waiting process can even run. This process waits for the child instead.
    """
    timeout = cluster_timeout()
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: TensorFlow's threads do not survive fork
    reports, report = spawn.Pipe(duplex=False)
    child = spawn.Process(target=_child, args=(train, Cluster(cluster.workers, cluster.index, report)))
    child.start()
    report.close()  # the child's copy is the only one left: its exit ends the pipe
    try:
        try:
            reports.recv()  # the child starts connecting (its data are loaded), or it ended: EOFError
        except EOFError:
            pass
        else:
            if not reports.poll(timeout):  # "connected", or EOF if the child ended
                raise PipelineError(
                    f"worker {cluster.index}: not every worker of {', '.join(cluster.workers)} answered within"
                    f" {timeout:g} s; start `python -m pipeline.train` with the same TF_CONFIG cluster on each"
                    f" (or raise {TIMEOUT_VARIABLE})"
                )
        child.join()
    finally:
        if child.is_alive():
            child.kill()
            child.join()
    if child.exitcode < 0:
        raise PipelineError(f"worker {cluster.index}: training process killed by signal {-child.exitcode}")
    if child.exitcode:
        sys.exit(child.exitcode)  # the child printed its own error line


def _child(train: Callable[[Cluster], None], cluster: Cluster) -> None:
    run(lambda: train(cluster), guard=False)  # the parent process holds the stage's guard


def connect(cluster: Cluster) -> tf.distribute.MultiWorkerMirroredStrategy:
    """The strategy, once every worker of the cluster has joined."""
    # TensorFlow's INFO lines on every collective it builds, shown twice (its handler and ours)
    tf.get_logger().setLevel(logging.DEBUG if debug_enabled() else logging.WARNING)
    assert cluster.report is not None, "connect() runs in run_in_cluster's child process"
    log.info("worker %d of %d: connecting to %s", cluster.index, len(cluster.workers), ", ".join(cluster.workers))
    cluster.report.send("connecting")
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    cluster.report.send("connected")
    if strategy.num_replicas_in_sync != len(cluster.workers):
        raise PipelineError(
            f"{strategy.num_replicas_in_sync} replicas for {len(cluster.workers)} workers: multi_worker trains one"
            " replica per worker (its CPU, or one GPU: set CUDA_VISIBLE_DEVICES to a single device)"
        )
    log.info("worker %d of %d: cluster complete", cluster.index, len(cluster.workers))
    return strategy


def _shares(strategy: tf.distribute.Strategy, x: np.ndarray, y: np.ndarray, batch_size: int):
    """Global batches of `batch_size` rows in order; each worker gets its contiguous share of every
    batch (the last batch's shares may be uneven, or empty) and the batch's row count."""

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        def share(xb: tf.Tensor, yb: tf.Tensor):
            rows = tf.shape(xb)[0]
            start = rows * context.input_pipeline_id // context.num_input_pipelines
            stop = rows * (context.input_pipeline_id + 1) // context.num_input_pipelines
            return xb[start:stop], yb[start:stop], tf.cast(rows, tf.float32)

        return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).map(share)

    return strategy.distribute_datasets_from_function(dataset_fn)


def _steps(model: keras.Model, strategy: tf.distribute.Strategy):
    """Training and validation steps over all workers, a given number per call; each call returns
    the global sums of the per-example loss and of correct predictions, the same on every worker.

    The loss and metric are train.py's compiled ones, binary cross-entropy and accuracy.
    """

    def sums(y: tf.Tensor, predictions: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return (
            tf.reduce_sum(keras.losses.binary_crossentropy(y, predictions)),
            tf.reduce_sum(keras.metrics.binary_accuracy(y, predictions)),
        )

    def train_replica(x: tf.Tensor, y: tf.Tensor, rows: tf.Tensor):
        with tf.GradientTape() as tape:
            predictions = model(x, training=True)
            loss, correct = sums(y, predictions)
            # The mean over the global batch, as fit computes it on one machine: the optimizer sums
            # the workers' gradients of (their sum / all rows).
            scaled = loss / rows
        gradients = tape.gradient(scaled, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss, correct

    def validation_replica(x: tf.Tensor, y: tf.Tensor, rows: tf.Tensor):
        return sums(y, model(x, training=False))

    def steps(replica_step: Callable):
        @tf.function
        def run(iterator, count: tf.Tensor) -> tf.Tensor:
            totals = tf.zeros([2])
            for _ in tf.range(count):
                totals += tf.stack(strategy.reduce("SUM", strategy.run(replica_step, args=next(iterator)), axis=None))
            return totals

        return run

    return steps(train_replica), steps(validation_replica)


def _epoch(run_steps: Callable, batches, rows: int, batch_size: int) -> tuple[float, float, int]:
    """The mean loss and accuracy over `rows` examples, and the number of steps taken."""
    steps = -(-rows // batch_size)
    iterator = iter(batches)
    totals = [
        run_steps(iterator, tf.constant(min(STEPS_PER_CALL, steps - done))) for done in range(0, steps, STEPS_PER_CALL)
    ]
    loss, correct = np.sum(totals, axis=0, dtype=np.float64)
    return float(loss) / rows, float(correct) / rows, steps


def weights_digest(model: keras.Model) -> str:
    """md5 of every weight's bytes: equal on all workers when they trained in step."""
    return hashlib.md5(b"".join(np.ascontiguousarray(w).tobytes() for w in model.get_weights())).hexdigest()


def fit(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    *,
    batch_size: int,
    epochs: int,
    seed: int,
    callbacks: list[keras.callbacks.Callback],
) -> keras.callbacks.History:
    """`model.fit(x, y, batch_size, epochs, validation_data, callbacks)` on every worker in step.

    Each epoch shuffles the training rows with the seed (the same order on every worker) and
    reports fit's logs: the mean loss and accuracy over the epoch's training examples, and over the
    validation set after it.
    """
    x_train, y_train = train[0], train[1].astype("float32")[:, None]
    x_val, y_val = validation[0], validation[1].astype("float32")[:, None]
    train_steps, validation_steps = _steps(model, strategy)
    validation_batches = _shares(strategy, x_val, y_val, batch_size)
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList([*callbacks, history], model=model)
    shuffle = np.random.default_rng(seed)
    model.stop_training = False
    logs: dict[str, float] = {}
    with strategy.scope():  # where the optimizer's variables, and callbacks' weight updates, reach every replica
        model.optimizer.build(model.trainable_variables)
        callback_list.on_train_begin()
        for epoch in range(epochs):
            started = time.perf_counter()
            callback_list.on_epoch_begin(epoch)
            order = shuffle.permutation(len(x_train))
            batches = _shares(strategy, x_train[order], y_train[order], batch_size)
            try:
                logs["loss"], logs["accuracy"], steps = _epoch(train_steps, batches, len(x_train), batch_size)
                logs["val_loss"], logs["val_accuracy"], _ = _epoch(
                    validation_steps, validation_batches, len(x_val), batch_size
                )
            except tf.errors.UnavailableError as error:  # TensorFlow's heartbeats found a worker gone
                lost = ", ".join(sorted(set(re.findall(r"/job:worker/replica:0/task:(\d+)", error.message))))
                raise PipelineError(
                    f"epoch {epoch + 1}: worker {lost or '?'} of the cluster stopped; the model was not saved"
                ) from None
            log.info(
                "epoch %d/%d: %d steps, %.2f s, %s",
                epoch + 1,
                epochs,
                steps,
                time.perf_counter() - started,
                ", ".join(f"{name} {value:.6f}" for name, value in logs.items()),
            )
            callback_list.on_epoch_end(epoch, dict(logs))
            if model.stop_training:
                break
        callback_list.on_train_end(dict(logs))
    log.info("weights md5 %s", weights_digest(model))
    return history
