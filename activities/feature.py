"""What activities brings to the app (api/features.py reads it)."""
from .demo import load_demo

ORDER = 50
MODELS = ("activities.models", "activities.settlement_models")
DEMO_LOADERS = (load_demo,)
