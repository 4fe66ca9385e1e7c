"""One blueprint per feature; the app registers them in this order."""
from . import (activities, auth, benefits, calendar, checkins, health, kiosk, meta, orgs, points,
               settlement, volunteers)

ALL_BLUEPRINTS = [health.blp, auth.blp, orgs.blp, volunteers.blp, activities.blp, checkins.blp,
                  kiosk.blp, kiosk.link_blp, settlement.blp, points.blp, benefits.blp, calendar.blp, meta.blp]
