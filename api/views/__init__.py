"""One blueprint per feature; the app registers them in this order."""
from . import auth, health, orgs, points

ALL_BLUEPRINTS = [health.blp, auth.blp, orgs.blp, points.blp]
