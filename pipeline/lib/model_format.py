"""What models/model.npz holds, agreed here by its writer (model.export_weights, in train) and its
reader (inference, in evaluate and predict): train depends on the format it writes, not on the
NumPy forward pass, so editing that pass does not retrain the model."""

SPEC = "spec"  # the npz entry holding the layers as JSON
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")  # those inference computes; export refuses others
