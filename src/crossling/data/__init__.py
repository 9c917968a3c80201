"""Data sources and file formats: raw examples in, typed records out; tokenized features cached as Arrow."""
