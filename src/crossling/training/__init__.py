"""Training loop on accelerate: batching, optimisation, checkpoints and resume."""
