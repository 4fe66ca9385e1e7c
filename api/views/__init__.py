"""One blueprint per feature; the app registers them in this order."""
from . import auth, health, orgs, volunteers

ALL_BLUEPRINTS = [health.blp, auth.blp, orgs.blp, volunteers.blp]
