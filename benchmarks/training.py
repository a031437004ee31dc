"""Seconds per epoch and samples/s for each recurrent cell at the default size, on the full
padded training data (run inside a scratch repository that has data/padded/).

    python -m benchmarks.training [--epochs 3]   # prints one JSON object
"""

import argparse
import json
import statistics
import time

import yaml

from pipeline.lib import paths
from pipeline.lib.files import load_npz
from pipeline.lib.model import build_model, keras
from pipeline.lib.params import CELLS


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs: dict | None = None) -> None:
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self.start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    params = yaml.safe_load(paths.PARAMS.read_text())
    data = load_npz(paths.PADDED / "train.npz")
    x, y = data["x"][:20_000], data["y"][:20_000]  # the size of the default training split
    results = {}
    for cell in CELLS:
        keras.utils.set_random_seed(0)
        model = build_model(params["encode"]["num_words"], x.shape[1], {**params["model"], "cell": cell})
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        timer = EpochTimer()
        model.fit(x, y, batch_size=params["train"]["batch_size"], epochs=args.epochs, verbose=0, callbacks=[timer])
        steady = statistics.median(timer.seconds[1:])
        results[cell] = {
            "first_epoch_seconds": round(timer.seconds[0], 2),
            "seconds_per_epoch": round(steady, 2),
            "samples_per_second": round(len(x) / steady),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
