"""What console brings to the app (api/features.py reads it)."""
from .pages import blp

ORDER = 90
BLUEPRINTS = (blp,)
