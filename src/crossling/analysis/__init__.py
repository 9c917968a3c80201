"""Analysis of results: ensembles, typology, layers and statistics."""
