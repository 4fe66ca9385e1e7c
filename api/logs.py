"""Log lines: one format with the request id, personal data masked (README "Logs")."""
import logging

from flask import g, has_request_context

from core import logs

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestId(logging.Filter):
    """The id of the request being served ("-" outside one), as `X-Request-ID` echoes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = g.get("request_id") if has_request_context() else None
        record.request_id = logs.mask(request_id) if request_id else "-"  # a client may choose it
        return True


def configure() -> None:
    """Root handler and format, unless the server (gunicorn, a test runner)
    set up its own; either way every handler masks personal data."""
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RequestId) for f in handler.filters):
            handler.addFilter(RequestId())
    logs.install()
