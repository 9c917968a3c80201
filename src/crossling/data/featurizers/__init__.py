"""Featurizers, one module per task kind: typed records -> tokenized feature columns."""
