"""The moonshot (`make moonshot`): an RNN within the tutorial's 2,000 words that beats the TF-IDF
baseline, over three seeds, as named DVC experiments (moonshot-s42, -s43, -s44).

Each run is the committed params.yaml with MOONSHOT's keys set (tools/experiments.py: one at a
time in a temporary copy, skipped when it already ran on this commit, restored from the
run-cache when its stages ran before). Writes reports/moonshot.json: the configuration's seed
record (the format `python -m pipeline.compare` reads its seed noise from), the baseline's score,
and the answers of the first seed's model and of the committed model on EXAMPLES. README's
results table and docs/study.md are generated from it (`make docs`).
Needs the full data: offline, IMDB_ARCHIVE=/path/to/aclImdb_v1.tar.gz make moonshot.
"""

import argparse
import tempfile
from pathlib import Path

import dvc.api
import yaml

from pipeline import compare
from pipeline.lib import inference, paths
from pipeline.lib.files import write_json
from pipeline.predict import predict_proba
from tools import experiments

# What the study's best (GRU, maxlen 800) lacked, from the references with small vocabularies: both
# directions, masking of the padding, max and mean pooling over time, spatial dropout on the
# embeddings; with early stopping, as in the study, on the validation accuracy; and an embedding that
# starts from word2vec vectors of the unlabelled reviews (docs/study.md#the-moonshot).
MOONSHOT = {
    "embed.init": "word2vec",
    "pad.maxlen": 800,
    "model.cell": "gru",
    "model.bidirectional": True,
    "model.units": 32,
    "model.embedding_dim": 128,
    "model.embedding_dropout": 0,
    "model.spatial_dropout": 0.4,
    "model.mask_padding": True,
    "model.pooling": "max_mean",
    "model.unroll": False,
    "train.batch_size": 64,
    "train.early_stopping_patience": 2,
    "train.early_stopping_monitor": "val_accuracy",  # the score it is judged on: the loss stopped seed 43 early
}
SEEDS = 3  # train.seed, train.seed + 1, ...
LOG = paths.DVC_DIR / "tmp" / "moonshot_runs.json"  # wall times of the runs (DVC's scratch folder, not in git)

# Hand-written, not from IMDb: negation and short praise, which the tutorial's model gets wrong.
# Examples to read, not a test set: nothing was tuned on them.
EXAMPLES = [
    "Not bad at all.",
    "Loved it.",
    "Excellent!",
    "I expected to hate it, but it is one of the best films of the year.",
    "Not good. The plot makes no sense and the acting is wooden.",
    "A beautiful, moving film with a great cast; I was not bored for a second.",
    "It is not a great film, and not even a good one.",
    "The first hour is dull, but the ending is wonderful and worth the wait.",
]


def answers(weights: bytes, reviews: list[str]) -> list[float]:
    """The probability of a positive review that a model (its models/model.npz) gives each text."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / paths.MODEL_WEIGHTS.name
        path.write_bytes(weights)
        spec, arrays = inference.load(path)
    proba, _ = predict_proba(spec, arrays, reviews)
    return [round(float(p), 4) for p in proba]


def model_bytes(repo: Path, rev: str) -> bytes:
    return dvc.api.read(paths.MODEL_WEIGHTS.as_posix(), repo=str(repo), rev=rev, mode="rb")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.moonshot", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--settings", nargs="*", default=[], metavar="KEY=VALUE", help="more -S keys for every run")
    args = parser.parse_args()
    repo = Path.cwd()
    base = compare.flatten(yaml.safe_load(paths.PARAMS.read_text(encoding="utf-8")))
    keys = {**MOONSHOT, **{k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.settings)}}
    seeds = [base[compare.SEED] + i for i in range(args.seeds)]
    names = [f"moonshot-s{seed}" for seed in seeds]
    runs = [(name, {**keys, compare.SEED: seed}) for name, seed in zip(names, seeds, strict=True)]
    records = experiments.run_all(repo, runs, LOG, base)
    record = experiments.seed_record("moonshot", records, base)
    first = experiments.exp_ref(repo, names[0])
    moonshot, committed = answers(model_bytes(repo, first), EXAMPLES), answers(model_bytes(repo, "HEAD"), EXAMPLES)
    record.update(
        command="make moonshot",
        baseline_accuracy=records[0]["baseline_accuracy"],
        epochs=[r["epochs"] for r in records],
        parameters=records[0]["parameters"],
        wall_seconds=[r["wall_seconds"] for r in records],
        examples=[
            {"review": text, "moonshot": m, "committed": c}
            for text, m, c in zip(EXAMPLES, moonshot, committed, strict=True)
        ],
    )
    write_json(paths.MOONSHOT, [record])
    for seed, accuracy in zip(seeds, record["accuracies"], strict=True):
        print(f"train.seed={seed}: test accuracy {accuracy:.4f}")
    print(
        f"moonshot: {record['mean']:.4f} ± {record['sd']:.4f} over {len(seeds)} seeds; "
        f"baseline {record['baseline_accuracy']:.4f}; in {paths.MOONSHOT}"
    )


if __name__ == "__main__":
    main()
