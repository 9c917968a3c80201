"""crossling: zero-shot cross-lingual transfer experiments with layer aggregation (DLFA)."""

__version__ = "0.1.0"
