"""The tutorial's setup, where the tests start from: a constant, not the user's params.yaml, so
that committing other parameters keeps the suite green (the committed file is only checked to be
valid, in tests/test_params.py). It is the params.yaml this repository ships."""

import copy

_TUTORIAL = {
    "data": {
        "url": "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
        "sha256": "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
        "reviews_sha256": "3a1bc6867d44017fb0273b44da36c399b999e7fd0427c388b57c67358d440db0",
        "timeout": 60,
        "retries": 5,
    },
    "prepare": {"reviews_per_split": 25000},
    "encode": {"num_words": 2000},
    "pad": {"maxlen": 100, "padding": "pre", "truncating": "pre"},
    "embed": {"init": "random", "window": 5, "epochs": 5},
    "model": {
        "cell": "simple_rnn",
        "bidirectional": False,
        "layers": 1,
        "units": 16,
        "embedding_dim": 32,
        "embedding_dropout": 0.2,
        "dense_units": 256,
        "dense_dropout": 0.35,
        "unroll": True,
        "pooling": "last",
        "mask_padding": False,
        "spatial_dropout": 0.0,
        "recurrent_dropout": 0.0,
    },
    "train": {
        "optimizer": "adam",
        "learning_rate": 0.001,
        "batch_size": 100,
        "epochs": 10,
        "validation_split": 0.2,
        "seed": 42,
        "early_stopping_patience": 0,
        "early_stopping_monitor": "val_loss",
        "distribute": "none",
        "workers": 1,
    },
    "evaluate": {"threshold": 0.5, "samples": 10, "misclassified": 10, "seed": 0},
    "baseline": {"max_features": None, "ngram_max": 1, "C": 1.0},
}


def tutorial() -> dict:
    """A fresh copy of the tutorial's params, each section a dict, to edit at will."""
    return copy.deepcopy(_TUTORIAL)
