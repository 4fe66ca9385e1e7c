"""Personal data never reaches a log line: phones and ID numbers are masked
on the way out, wherever they appear (the message, its arguments, an
exception's text), whoever logged them (our code, SQLAlchemy, a library).

The filter sits on the handlers, not on loggers: a logger's filter sees only
what is logged to that very logger, a handler's sees everything it writes.
"""
import logging
import re

# A mainland mobile number (1[3-9] and nine digits), alone or after +86, with
# or without separators: 138****5678, as the API shows it.
PHONE = re.compile(r"(?:(?<!\d)|(?<=86))(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")
# A resident ID number (GB 11643): region, birth date, sequence, check character.
ID_NUMBER = re.compile(
    r"(?<!\d)[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dXx])"
)


def mask(text: str) -> str:
    """4201**********1234 for an ID number, 138****5678 for a phone."""
    text = ID_NUMBER.sub(lambda m: m.group()[:4] + "*" * 10 + m.group()[-4:], text)
    return PHONE.sub(r"\1****\2", text)


class MaskPersonalData(logging.Filter):
    """Renders a record's message once, masked, in place; so do its exception
    and stack text. Every handler after the first sees the masked record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "personal_data_masked", False):
            return True
        record.msg, record.args = mask(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        record.personal_data_masked = True
        return True


def install(*handlers: logging.Handler) -> None:
    """Adds the filter (once) to `handlers`; by default to the root logger's
    handlers and those of every logger that does not pass its records up to
    the root (gunicorn's error and access logs)."""
    if not handlers:
        loggers = [logging.getLogger()] + [
            logger for logger in logging.Logger.manager.loggerDict.values()
            if isinstance(logger, logging.Logger) and not logger.propagate
        ]
        handlers = tuple(handler for logger in loggers for handler in logger.handlers)
    for handler in handlers:
        if not any(isinstance(f, MaskPersonalData) for f in handler.filters):
            handler.addFilter(MaskPersonalData())
