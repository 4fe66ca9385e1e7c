"""The HTML front door: staff pages and the few public ones (the door screen, the page
behind a door QR's link). Blueprints, Jinja templates/ and static/; calls the same
services as api/, never api/ itself (.importlinter)."""
