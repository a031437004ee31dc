"""Stage `pad`: the same arrays as keras pad_sequences, both paddings and truncatings."""

import numpy as np
import pytest
from keras.utils import pad_sequences as keras_pad_sequences

from pipeline.lib.text import pad_sequences

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
