"""Models: encoders with all hidden states, layer-aggregation strategies (DLFA), task heads."""
