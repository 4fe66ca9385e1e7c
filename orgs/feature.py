"""What orgs brings to the app (api/features.py reads it)."""
from .commands import create_admin

ORDER = 20
MODELS = ("orgs.models",)
COMMANDS = (create_admin,)
