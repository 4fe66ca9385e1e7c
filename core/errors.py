"""Domain errors: a stable code the client switches on, a message, details.

Only `api/` decides which HTTP status a code becomes.
"""


class DomainError(Exception):
    """`keep_changes` marks a refusal whose record must survive it (a refused
    scan's log row, a revoked token family): the request commits what was
    flushed before the error instead of rolling it back."""

    keep_changes = False

    def __init__(self, code: str, message: str, *, keep_changes: bool = False, **details):
        super().__init__(message)
        self.code = code
        self.message = message
        self.keep_changes = keep_changes
        self.details = details


class NotFound(DomainError):
    def __init__(self, what: str, message: str | None = None, **details):
        super().__init__("NOT_FOUND", message or "对象不存在", **details)


class Forbidden(DomainError):
    def __init__(self, message: str = "没有权限", code: str = "FORBIDDEN", **details):
        super().__init__(code, message, **details)


class Invalid(DomainError):
    """A well-formed request whose content the domain rejects (HTTP 422).

    `fields` maps a field name to a list of messages, like schema errors do.
    """

    def __init__(self, fields: dict[str, list[str]], message: str = "请求参数有误"):
        super().__init__("VALIDATION_ERROR", message, **fields)


class Conflict(DomainError):
    def __init__(self, code: str = "CONFLICT", message: str = "请求与当前状态冲突", **details):
        super().__init__(code, message, **details)
