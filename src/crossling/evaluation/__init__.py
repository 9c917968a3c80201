"""Evaluation: zero-shot prediction over languages and the metrics that score it."""
