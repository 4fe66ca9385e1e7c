"""One blueprint per feature; the app registers them in this order."""
from . import auth, benefits, health, orgs

ALL_BLUEPRINTS = [health.blp, auth.blp, orgs.blp, benefits.blp]
