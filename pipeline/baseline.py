"""Stage `baseline`: TF-IDF + logistic regression over the same vocabulary size and tokens.

It gives the RNN's test accuracy a reference point: its metrics file has the same keys, so
`dvc metrics diff` shows both side by side.
"""

import logging
import re

import pyarrow.parquet as pq
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from pipeline.lib import params, paths
from pipeline.lib.cli import run
from pipeline.lib.files import column_values, require
from pipeline.lib.metrics import write_scores
from pipeline.lib.text import FILTERS

log = logging.getLogger("baseline")

# Keras' rule (filters become spaces, split on " ") as a regex: runs of anything else. A regex
# runs in C inside scikit-learn, where a Python tokenizer callable costs seconds.
WORD = "[^" + re.escape(FILTERS + " ") + "]+"


def build_baseline(max_features: int, ngram_max: int, c: float) -> Pipeline:
    """Words split exactly as the RNN's tokenizer splits them, keeping the max_features most frequent."""
    return make_pipeline(
        TfidfVectorizer(
            lowercase=True,
            token_pattern=WORD,
            max_features=max_features,
            ngram_range=(1, ngram_max),
            sublinear_tf=True,
        ),
        LogisticRegression(C=c, max_iter=1000),
    )


def main() -> None:
    p = params.load()
    settings = p["baseline"]
    # Keras' Tokenizer(num_words) keeps num_words - 1 words; the same count here by default.
    max_features = settings["max_features"] or p["encode"]["num_words"] - 1
    train, test = (require(paths.split_file(paths.PREPARED, split, ".parquet")) for split in paths.SPLITS)
    model = build_baseline(max_features, settings["ngram_max"], settings["C"])
    # Texts streamed: the vectorizer reads each once, so the whole column is never in memory.
    model.fit(column_values(train, "text"), pq.read_table(train, columns=["label"]).column("label").to_numpy())
    proba = model.predict_proba(column_values(test, "text"))[:, 1]
    y = pq.read_table(test, columns=["label"]).column("label").to_numpy().astype(int)
    scores = write_scores(paths.BASELINE_METRICS, paths.PLOTS / "baseline", y, proba, p["evaluate"]["threshold"])
    log.info("test: %s", scores)


if __name__ == "__main__":
    run(main)
