"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
import gc

from api import create_app

app = create_app()

# The 160,000 objects the app holds from here on live as long as the process.
# Frozen, a full garbage collection no longer walks them: it took 30-80 ms,
# every thread of the worker stalled, and it was the slow tail of requests.
gc.collect()
gc.freeze()
