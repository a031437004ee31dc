"""Every path the stages read or write, relative to the repository root (DVC's working directory)."""

from pathlib import Path

PARAMS = Path("params.yaml")
DVC_YAML = Path("dvc.yaml")
DVC_LOCK = Path("dvc.lock")
DVC_DIR = Path(".dvc")
PARAMS_SCHEMA = Path("data/params_schema.json")  # what `check` validated params.yaml against

ARCHIVE = Path("data/raw/aclImdb_v1.tar.gz")

PREPARED = Path("data/prepared")
ENCODED = Path("data/encoded")
PADDED = Path("data/padded")
VOCAB = ENCODED / "vocab.json"

MODEL = Path("models/model.keras")
MODEL_WEIGHTS = Path("models/model.npz")  # the same weights for inference.py's NumPy forward pass

REPORTS = Path("reports")
PREPARE_REPORT = REPORTS / "prepare.json"
MODEL_SUMMARY = REPORTS / "model_summary.txt"
TRAIN_LOG = REPORTS / "train"
METRICS = REPORTS / "metrics.json"
BASELINE_METRICS = REPORTS / "baseline_metrics.json"
PLOTS = REPORTS / "plots"
FIGURES = REPORTS / "figures"
PREDICTIONS = REPORTS / "predictions.csv"
MISCLASSIFIED = REPORTS / "misclassified.csv"

SPLITS = ("train", "test")


def split_file(folder: Path, split: str, suffix: str) -> Path:
    """The per-split file of a data stage, e.g. data/padded/train.npz."""
    return folder / f"{split}{suffix}"
