"""Where the model is built: data, the frozen backbone and its feature cache, the heads, training
and the checkpoints it writes. The quantum layer itself lives in :mod:`helpers.quantum`."""
