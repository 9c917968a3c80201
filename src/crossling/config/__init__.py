"""Experiment configuration: typed, validated, documented dataclasses loaded from YAML."""
