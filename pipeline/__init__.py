"""IMDb sentiment with a Keras recurrent network, as a DVC pipeline: one module per stage."""
