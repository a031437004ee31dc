"""Stage embed: word2vec vectors from the unlabelled and training reviews only, as the network sees
them; the same bytes whatever kernels OpenBLAS would pick; and train's Embedding layer starts
from them, the other layers as from a random start."""

import itertools
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cmd, tiny_reviews, write_archive
from pipelines import key_workspace, read_params, set_key
from tutorial_params import tutorial

from pipeline import embed
from pipeline.lib.cli import PipelineError
from pipeline.lib.files import load_npz
from pipeline.lib.model import build_model
from pipeline.train import start_embedding


def test_the_unlabelled_reviews_are_cleaned_and_tokenized_as_the_labelled_ones(tmp_path: Path) -> None:
    members = tiny_reviews(2)
    members["aclImdb/train/unsup/7_0.txt"] = "Great&amp;good<br />film, caf\u00e9 great".encode()
    members["aclImdb/train/unsup/8_0.txt"] = b"\xff unknown words only"  # undecodable byte: replaced, kept
    members["aclImdb/train/unsup/notes.txt"] = b"great great great"  # not a review's name
    members["aclImdb/test/unsup/9_0.txt"] = b"great great great"  # no such folder in IMDb: not read
    archive = write_archive(tmp_path / "archive.tar.gz", members)
    vocab = ["great", "good", "film", "café"]
    tokens, offsets = embed.unlabelled_sequences(archive, vocab, batch=2)  # batches split the reviews
    reviews = [tokens[a:b].tolist() for a, b in itertools.pairwise(offsets.tolist())]
    tiny = [[] for name in tiny_reviews(2) if "/unsup/" in name]  # "unlabelled review": no known word
    assert reviews == [*tiny, [1, 2, 3, 4, 1], []]
    assert tokens.dtype == np.int32 and offsets.dtype == np.int64


def corpus(words: int = 40) -> embed.Sequences:
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 30, size=200)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return embed.Sequences([(rng.integers(1, words, size=offsets[-1]).astype(np.int32), offsets)], words)


def test_word2vec_gives_a_row_per_word_and_zeros_for_padding() -> None:
    sequences = corpus()
    assert len(sequences) == 200 and all(sentence for sentence in sequences)  # empty reviews skipped
    vectors = embed.word2vec(sequences, 16, {"window": 3, "epochs": 2}, seed=1)
    assert vectors.shape == (40, 16) and vectors.dtype == np.float32
    assert not vectors[0].any() and np.all(np.abs(vectors[1:]).sum(axis=1) > 0)
    again = embed.word2vec(corpus(), 16, {"window": 3, "epochs": 2}, seed=1)
    other = embed.word2vec(corpus(), 16, {"window": 3, "epochs": 2}, seed=2)
    assert np.array_equal(vectors, again) and not np.array_equal(vectors, other)


@pytest.fixture(scope="module")
def word2vec_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = key_workspace(tmp_path_factory, "embed.init")
    assert ws.returncode == 0, ws.stderr[-3000:]
    return ws.path


def test_the_vectors_are_the_same_bytes_whatever_kernels_openblas_would_pick(
    word2vec_workspace: Path, tmp_path: Path
) -> None:
    """OpenBLAS picks its dot-product kernels by CPU (AVX-512 on this machine, AVX2 on others),
    and they sum in other orders; Sandybridge's, which every AVX2 CPU runs, differ from both at
    64 dimensions. The stage pins one set, so the environment's choice changes nothing."""
    repo = tmp_path / "repo"
    shutil.copytree(word2vec_workspace, repo, symlinks=True)
    set_key(repo, "model.embedding_dim", 64)
    digests = []
    for env in ({}, {"OPENBLAS_CORETYPE": "Sandybridge"}):
        run_cmd([sys.executable, "-m", "pipeline.embed"], repo, **env)
        digests.append((repo / "data/embedding.npz").read_bytes())
    assert digests[0] == digests[1]
    vectors = load_npz(repo / "data/embedding.npz")["vectors"]
    known = len(json.loads((repo / "data/encoded/vocab.json").read_text())["words"])
    assert vectors.shape == (read_params(repo)["encode"]["num_words"], 64)
    assert np.abs(vectors[1 : known + 1]).sum(axis=1).all() and not vectors[0].any()


def model_config(**changes: object) -> dict:
    return {**tutorial()["model"], "units": 4, "embedding_dim": 6, "dense_units": 8, **changes}


def test_train_starts_the_embedding_from_the_vectors_and_the_rest_as_from_random() -> None:
    from pipeline.lib.backend import keras

    keras.utils.set_random_seed(0)
    random_start = build_model(30, 10, model_config())
    keras.utils.set_random_seed(0)
    model = build_model(30, 10, model_config())
    vectors = np.arange(30 * 6, dtype=np.float32).reshape(30, 6)
    start_embedding(model, vectors)
    assert np.array_equal(model.get_layer("embedding").get_weights()[0], vectors)
    for layer, same in zip(model.layers, random_start.layers, strict=True):
        if layer.name != "embedding":
            for weights, expected in zip(layer.get_weights(), same.get_weights(), strict=True):
                assert np.array_equal(weights, expected), layer.name
    start_embedding(random_start, np.zeros((0, 6), np.float32))  # embed.init = random: nothing to start from
    keras.utils.set_random_seed(0)
    assert np.array_equal(random_start.get_weights()[0], build_model(30, 10, model_config()).get_weights()[0])
    with pytest.raises(PipelineError, match=r"data/embedding.npz: vectors of shape \(30, 5\), the embedding needs"):
        start_embedding(model, np.zeros((30, 5), np.float32))
