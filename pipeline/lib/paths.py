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
EMBEDDING = Path("data/embedding.npz")  # embed: the vectors the Embedding layer starts from (none: random)

MODEL = Path("models/model.keras")
MODEL_WEIGHTS = Path("models/model.npz")  # the same weights for inference.py's NumPy forward pass

# Every test review's label and probability, one file per model (DVC-cached: `python -m pipeline.compare`
# reads them at any revision with dvc.api).
SCORES = Path("data/scores")
MODEL_SCORES = {"rnn": SCORES / "rnn.csv", "baseline": SCORES / "baseline.csv"}

REPORTS = Path("reports")
PREPARE_REPORT = REPORTS / "prepare.json"
MODEL_SUMMARY = REPORTS / "model_summary.txt"
TRAIN_LOG = REPORTS / "train"
METRICS = REPORTS / "metrics.json"
BASELINE_METRICS = REPORTS / "baseline_metrics.json"
PLOTS = REPORTS / "plots"
HEADLINE = "headline.csv"  # in each model's folder of PLOTS: accuracy, F1, ROC AUC with 95% intervals
FIGURES = REPORTS / "figures"
PREDICTIONS = REPORTS / "predictions.csv"
MISCLASSIFIED = REPORTS / "misclassified.csv"
SEEDS = REPORTS / "seeds.json"  # seed studies of configurations (tools.seeds): compare's seed-noise band
STUDY_SUMMARY = REPORTS / "study" / "summary.json"  # the lead's study, in the same format
MOONSHOT = REPORTS / "moonshot.json"  # tools.moonshot: its seed record, with the baseline and its answers

SPLITS = ("train", "test")


def split_file(folder: Path, split: str, suffix: str) -> Path:
    """The per-split file of a data stage, e.g. data/padded/train.npz."""
    return folder / f"{split}{suffix}"
