"""One module per feature, each with its blueprint `blp` (and its POSITION in the
reference): api/features.py finds and registers them, no list to keep here."""
