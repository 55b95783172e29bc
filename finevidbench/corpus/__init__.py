"""Video collections: the synthetic corpus and label files."""
