"""Stage `encode`: the same indices as Keras' legacy Tokenizer(num_words), and its stage output."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import in_repo, tiny_params, tiny_reviews, write_archive

from pipeline import encode, prepare
from pipeline.lib import cleaning, paths, tokenizer, vocabulary
from pipeline.lib.cli import PipelineError
from pipeline.lib.files import load_npz

TRICKY = [
    "Tie tie TIE. alpha beta gamma; beta alpha",  # ties broken by first appearance
    "don't stop-believing!!! (really) [sic] {x} a/b c\\d e|f ~g^ h`i",
    "tabs\tand\nnewlines\rand\u00a0no-break spaces  double  spaces",
    "ÉCOLE école Straße STRASSE İstanbul 東京 東京 🎬🎬",
    "",
    "... !!! ???",
]


def corpus() -> list[str]:
    return [cleaning.clean_text(data.decode()) for data in tiny_reviews().values()] + TRICKY


@pytest.mark.parametrize("num_words", [2, 5, 30, 2000])
def test_parity_with_keras_legacy_tokenizer(num_words: int) -> None:
    from tf_keras.preprocessing.text import Tokenizer

    texts = corpus()
    keras_tokenizer = Tokenizer(num_words=num_words)
    keras_tokenizer.fit_on_texts(texts)
    expected = keras_tokenizer.texts_to_sequences(texts)

    vocab = tokenizer.fit_vocabulary([tokenizer.distinct_words(tokenizer.split_words(texts))[:2]], num_words)
    tokens, offsets = tokenizer.texts_to_sequences(texts, vocab)
    ours = [tokens[a:b].tolist() for a, b in itertools.pairwise(offsets)]
    assert ours == expected
    assert vocab == [w for w, i in sorted(keras_tokenizer.word_index.items(), key=lambda kv: kv[1])][: num_words - 1]
    assert tokens.dtype == np.int32 and offsets.dtype == np.int64
    assert tokens.size == 0 or (tokens.min() >= 1 and tokens.max() <= num_words - 1)


def test_vocabulary_is_fitted_on_train_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_archive: Path
) -> None:
    params = tiny_params(tiny_archive)
    params["encode"]["num_words"] = 1000  # room for every train word
    in_repo(monkeypatch, tmp_path, params)
    paths.ARCHIVE.parent.mkdir(parents=True)
    paths.ARCHIVE.write_bytes(tiny_archive.read_bytes())
    prepare.main()
    encode.main()
    vocab = json.loads(paths.VOCAB.read_text())
    assert vocab["num_words"] == 1000
    train = load_npz(paths.ENCODED / "train.npz")
    assert set(train) == {"tokens", "offsets", "y", "id", "stars"}
    assert len(train["offsets"]) == 25 and train["y"].sum() == 12
    # train reviews end "Review 0." to "Review 11.", test ones "Review 100." to "Review 111."
    assert "11" in vocab["words"]
    assert not {str(i) for i in range(100, 112)} & set(vocab["words"])


def test_split_words_matches_keras_word_sequence() -> None:
    from tf_keras.preprocessing.text import text_to_word_sequence

    texts = corpus()
    for words, review in zip(tokenizer.split_words(texts).to_pylist(), texts, strict=True):
        assert [word for word in words if word] == text_to_word_sequence(review)


def test_baseline_splits_words_as_the_tokenizer_does() -> None:
    from tf_keras.preprocessing.text import text_to_word_sequence

    from pipeline.baseline import terms

    texts = corpus()
    docs, words = terms(texts, ngram_max=1)
    for i, review in enumerate(texts):
        assert [word for doc, word in zip(docs, words.to_pylist(), strict=True) if doc == i] == text_to_word_sequence(
            review
        )


def test_the_vocabulary_reads_what_encode_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PipelineError, match=r"data/encoded/vocab\.json: not found"):
        vocabulary.load()
    paths.VOCAB.parent.mkdir(parents=True)
    vocabulary.save(4, ["film", "café", "東京"])
    assert vocabulary.load() == ["film", "café", "東京"]


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_batches_give_the_vocabulary_and_indices_of_one_batch(batch: int) -> None:
    """Counts merged across batches keep the corpus-wide tie order (TRICKY's ties span batches)."""
    texts = corpus()
    vocab = tokenizer.fit_vocabulary([tokenizer.distinct_words(tokenizer.split_words(texts))[:2]], 30)
    batches = [tokenizer.split_words(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    assert tokenizer.fit_vocabulary((tokenizer.distinct_words(lists)[:2] for lists in batches), 30) == vocab
    tokens, offsets = tokenizer.texts_to_sequences(texts, vocab)
    pieces = [tokenizer.words_to_sequences(lists, vocab) for lists in batches]
    np.testing.assert_array_equal(np.concatenate([piece[0] for piece in pieces]), tokens)
    lengths = np.concatenate([np.diff(piece[1]) for piece in pieces])
    np.testing.assert_array_equal(lengths, np.diff(offsets))


def test_encode_in_tiny_batches_writes_the_bytes_of_one_batch(tmp_path: Path) -> None:
    members = tiny_reviews()
    members["aclImdb/train/neg/50_1.txt"] = b""  # a review without words inside a batch
    archive = write_archive(tmp_path / "a.tar.gz", members)
    prepare.prepare(archive, tmp_path / "prepared", 0)
    whole = encode.encode(tmp_path / "prepared", tmp_path / "whole", 40, batch=10**6)
    for batch in (1, 3, 8):
        assert encode.encode(tmp_path / "prepared", tmp_path / f"b{batch}", 40, batch=batch) == whole
        for name in ("train.npz", "test.npz"):
            assert (tmp_path / f"b{batch}" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    assert sorted(path.name for path in (tmp_path / "b3").iterdir()) == ["test.npz", "train.npz"]  # no spill left
