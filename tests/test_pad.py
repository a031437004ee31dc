"""Stage `pad`: the same arrays as keras pad_sequences, both paddings and truncatings."""

from pathlib import Path

import numpy as np
import pytest
from keras.utils import pad_sequences as keras_pad_sequences

from pipeline import pad
from pipeline.lib.files import load_npz, save_npz
from pipeline.lib.padding import pad_sequences

SEQUENCES = [[], [5], [1, 2, 3], [1, 2, 3, 4, 5], list(range(1, 12)), [7, 7]]


def flatten(sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.cumsum([0] + [len(s) for s in sequences])
    return np.asarray([t for s in sequences for t in s], dtype=np.int32), offsets


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("maxlen", [1, 3, 5, 20])
def test_parity_with_keras(padding: str, truncating: str, maxlen: int) -> None:
    tokens, offsets = flatten(SEQUENCES)
    ours = pad_sequences(tokens, offsets, maxlen, padding, truncating)
    expected = keras_pad_sequences(SEQUENCES, maxlen=maxlen, padding=padding, truncating=truncating)
    assert ours.dtype == np.int32
    np.testing.assert_array_equal(ours, expected)


def test_pre_truncating_keeps_the_last_tokens_and_pre_padding_fills_the_left() -> None:
    tokens, offsets = flatten([[1, 2, 3, 4], [9]])
    np.testing.assert_array_equal(pad_sequences(tokens, offsets, 3), [[2, 3, 4], [0, 0, 9]])
    np.testing.assert_array_equal(pad_sequences(tokens, offsets, 3, "post", "post"), [[1, 2, 3], [9, 0, 0]])


@pytest.mark.parametrize("batch", [1, 2, 3, 4])  # 2 and 3 divide the 6 reviews, 4 does not
def test_pad_in_tiny_batches_writes_the_bytes_of_one_batch(tmp_path: Path, batch: int) -> None:
    tokens, offsets = flatten(SEQUENCES)
    ids = np.arange(len(SEQUENCES), dtype=np.int32)
    save_npz(tmp_path / "encoded.npz", tokens=tokens, offsets=offsets, y=ids % 2, id=ids, stars=ids + 1)
    settings = {"maxlen": 4, "padding": "pre", "truncating": "post"}
    pad.pad_split(tmp_path / "encoded.npz", tmp_path / "whole.npz", settings, 10**6)
    pad.pad_split(tmp_path / "encoded.npz", tmp_path / "batched.npz", settings, batch)
    assert (tmp_path / "batched.npz").read_bytes() == (tmp_path / "whole.npz").read_bytes()
    written = load_npz(tmp_path / "whole.npz")
    np.testing.assert_array_equal(written["x"], pad_sequences(tokens, offsets, 4, "pre", "post"))
    np.testing.assert_array_equal(written["length"], [len(s) for s in SEQUENCES])
