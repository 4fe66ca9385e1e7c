"""What volunteers brings to the app (api/features.py reads it)."""
from .demo import demo_volunteers

ORDER = 30
MODELS = ("volunteers.models",)
DEMO_LOADERS = (demo_volunteers,)
