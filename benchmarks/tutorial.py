"""The textbook tutorial's script, kept faithful for benchmarking: read the extracted files one by
one, Keras' legacy Tokenizer, pad_sequences, the same model for `epochs` epochs.

Only the imports changed: Keras 3 dropped `keras.preprocessing.text`, so the Tokenizer comes
from tf_keras (the legacy Keras 2 package), and layers from `keras.layers`.

    python -m benchmarks.tutorial DATA_DIR [--data-only] [--epochs N]
"""

import argparse
import os
import re
import time

re_tag = re.compile(r"<[^>]+>")


def rm_tags(text):
    return re_tag.sub("", text)


def read_files(path, filetype):
    file_list = []
    positive_path = path + filetype + "/pos/"
    for f in os.listdir(positive_path):
        file_list += [positive_path + f]
    negative_path = path + filetype + "/neg/"
    for f in os.listdir(negative_path):
        file_list += [negative_path + f]
    print("read", filetype, "files:", len(file_list))
    all_labels = [1] * 12500 + [0] * 12500
    all_texts = []
    for fi in file_list:
        with open(fi, encoding="utf8") as file_input:
            all_texts += [rm_tags(" ".join(file_input.readlines()))]
    return all_labels, all_texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", help="the extracted aclImdb/ folder")
    parser.add_argument("--data-only", action="store_true", help="stop after pad_sequences")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()

    import numpy as np
    from keras.utils import pad_sequences
    from tf_keras.preprocessing.text import Tokenizer

    path = args.data_dir.rstrip("/") + "/"
    y_train, train_text = read_files(path, "train")
    y_test, test_text = read_files(path, "test")
    token = Tokenizer(num_words=2000)
    token.fit_on_texts(train_text)
    x_train_seq = token.texts_to_sequences(train_text)
    x_test_seq = token.texts_to_sequences(test_text)
    x_train = pad_sequences(x_train_seq, maxlen=100)
    x_test = pad_sequences(x_test_seq, maxlen=100)
    print(f"data ready in {time.perf_counter() - started:.1f} s")
    if args.data_only:
        return

    from keras.layers import Dense, Dropout, Embedding, SimpleRNN
    from keras.models import Sequential

    model = Sequential()
    model.add(Embedding(output_dim=32, input_dim=2000))
    model.add(Dropout(0.2))
    model.add(SimpleRNN(units=16))
    model.add(Dense(units=256, activation="relu"))
    model.add(Dropout(0.35))
    model.add(Dense(units=1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, np.array(y_train), batch_size=100, epochs=args.epochs, verbose=2, validation_split=0.2)
    scores = model.evaluate(x_test, np.array(y_test), verbose=1)
    print(f"test accuracy {scores[1]:.4f}")


if __name__ == "__main__":
    main()
