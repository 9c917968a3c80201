"""Scorers, one module per task kind: logits -> predictions -> metrics and prediction files."""
