"""Pipelines: experiment stages (intermediate tasks, target task) and sweeps over configurations."""
