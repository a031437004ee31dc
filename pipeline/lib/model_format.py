"""What models/model.npz holds, agreed here by its writer (model.export_weights, in train) and its
reader (inference, in evaluate and predict): train depends on the format it writes, not on the
NumPy forward pass, so editing that pass does not retrain the model."""

# The npz entry holding, as JSON, the layers and what turns a review into the model's input:
# {"layers": [...], "maxlen": n, "padding": "pre", "truncating": "pre", "words": [...]}. The model
# carries its preprocessing, so predict reads nothing that may have changed since training.
SPEC = "spec"
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")  # those inference computes; export refuses others
