"""Seconds per epoch and samples/s for each recurrent cell at the default size, as the `train`
stage runs it: its validation split, its compile settings (optimizer, steps_per_execution), its
batch size, validation after each epoch. Run inside a scratch repository that has data/padded/.

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
from pipeline.lib.variants import CELLS
from pipeline.train import compile_model, set_determinism, split_validation


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
    settings = params["train"]
    data = load_npz(paths.PADDED / "train.npz")
    x, x_val, y, y_val = split_validation(data["x"], data["y"], settings["validation_split"], settings["seed"])
    results = {}
    for cell in CELLS:
        set_determinism(settings["seed"])
        model = build_model(params["encode"]["num_words"], x.shape[1], {**params["model"], "cell": cell})
        compile_model(model, settings)
        timer = EpochTimer()
        model.fit(
            x,
            y,
            batch_size=settings["batch_size"],
            epochs=args.epochs,
            validation_data=(x_val, y_val),
            verbose=0,
            callbacks=[timer],
        )
        steady = statistics.median(timer.seconds[1:])
        results[cell] = {
            "first_epoch_seconds": round(timer.seconds[0], 2),
            "seconds_per_epoch": round(steady, 2),
            "samples_per_second": round(len(x) / steady),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
