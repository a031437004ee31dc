"""predict as it was before issue #13, the baseline of benchmarks/predict.py: the same
preprocessing, then TensorFlow, with Keras loading models/model.keras and predicting.

    python -m benchmarks.keras_predict "one review"   # prints its probability
"""

import sys

from pipeline.lib import inference, paths
from pipeline.lib.cleaning import clean_text
from pipeline.lib.padding import pad_sequences
from pipeline.lib.tokenizer import texts_to_sequences


def main() -> None:
    spec, _ = inference.load(paths.MODEL_WEIGHTS)  # the words and padding the model was trained with
    from pipeline.lib.backend import keras

    model = keras.saving.load_model(paths.MODEL, compile=False)
    tokens, offsets = texts_to_sequences([clean_text(" ".join(sys.argv[1:]))], spec["words"])
    x = pad_sequences(tokens, offsets, model.input_shape[1], spec["padding"], spec["truncating"])
    print(f"{model.predict(x, verbose=0).ravel()[0]:.4f}")


if __name__ == "__main__":
    main()
