"""The HTTP layer: app factory, auth, error envelope, schemas, one blueprint per feature."""
import json
import logging
import uuid

from flask import Flask, g, request
from flask_migrate import Migrate
from werkzeug.routing import IntegerConverter

from core import kv, passwords
from core.db import db, ping_when_idle, savepoints_inside_transactions
from core.errors import DomainError

from . import config as config_module
from . import docs, errors, limits, openapi
from .schemas.common import INT_LIMIT

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class LinliFlask(Flask):
    def dispatch_request(self):
        """Runs the view, then commits its work once (house rule 3).

        An exception skips the commit; the error handlers roll back.
        """
        rv = super().dispatch_request()
        if db.session.registry.has():  # a view that never opened a session has nothing to commit
            db.session.commit()
        return rv


def _check_json_body():
    """A body must be a JSON object: 400 BAD_REQUEST otherwise, before any parsing."""
    if request.method not in WRITE_METHODS:
        return
    raw = request.get_data(cache=True)  # 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        return
    if not request.is_json:
        raise DomainError("BAD_REQUEST", "请求体须为 JSON（Content-Type: application/json）")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("BAD_REQUEST", "请求体不是有效的 JSON")
    if not isinstance(body, dict):
        raise DomainError("BAD_REQUEST", "请求体须为 JSON 对象")


class IdConverter(IntegerConverter):
    """`<int:...>` in every route, bounded like the 32-bit id columns: an id past
    them is simply not found (404), instead of overflowing the database driver."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", INT_LIMIT)
        super().__init__(url_map, *args, **kwargs)


def _tag_request():
    g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex


def create_app(overrides: dict | None = None) -> Flask:
    app = LinliFlask(__name__, instance_path=str(config_module.ROOT / "instance"))
    app.config.update(config_module.STATIC)
    app.config.update(config_module.from_environment())
    app.config.update(overrides or {})
    config_module.check_safe(app.config)
    app.json.ensure_ascii = False  # Chinese as-is
    logging.basicConfig(level=logging.INFO)

    if app.config.get("PASSWORD_HASH_FAST"):
        passwords.configure(time_cost=1, memory_cost=8)

    db.init_app(app)
    with app.app_context():
        ping_when_idle(db.engine, app.config["DB_IDLE_PING_SECONDS"])
        savepoints_inside_transactions(db.engine)
    Migrate(app, db, directory=str(config_module.ROOT / "migrations"), render_as_batch=True)
    app.extensions["linli.kv"] = kv.make_store(app.config["REDIS_URL"], app.config["REDIS_PREFIX"])
    limits.init_app(app)

    app.before_request(_tag_request)
    app.before_request(_check_json_body)

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    app.url_map.converters["int"] = IdConverter  # before any route is added
    api = openapi.make_api(app)
    from .views import ALL_BLUEPRINTS

    for blueprint in ALL_BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.blp)
    errors.register(app)  # after Api(), whose own HTTP error handler this replaces

    from . import cli

    cli.register(app)
    _import_models()
    return app


def _import_models():
    """Every model must be known to SQLAlchemy (and Alembic) whatever is imported first."""
    import activities.models  # noqa: F401
    import activities.settlement_models  # noqa: F401
    import orgs.models  # noqa: F401
    import points.models  # noqa: F401
    import points.benefits_models  # noqa: F401
    import volunteers.models  # noqa: F401
