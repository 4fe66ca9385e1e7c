"""What points brings to the app (api/features.py reads it)."""
from .commands import points_group, redemptions_group
from .demo import demo_benefits, demo_points

ORDER = 40
MODELS = ("points.models", "points.benefits_models")
COMMANDS = (points_group, redemptions_group)
DEMO_LOADERS = (demo_points, demo_benefits)
