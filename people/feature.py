"""What people brings to the app (api/features.py reads it)."""
ORDER = 10
MODELS = ("people.models",)
