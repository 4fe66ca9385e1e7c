"""The HTTP layer: app factory, auth, error envelope, schemas, one blueprint per feature."""
import uuid

from flask import Flask, g, request
from flask_migrate import Migrate
from flask_smorest import Blueprint
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, UnicodeConverter

from core import kv, passwords
from core import settings as core_settings
from core.db import db, ping_when_idle, savepoints_inside_transactions

from . import config as config_module
from . import docs, errors, features, limits, logs, openapi, parsing
from .schemas.common import INT_LIMIT

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Every `blp.arguments` of every blueprint reads the request through this
# parser (bound when the views' decorators run, which is after this line:
# they live in this package): the input rules of api/parsing.py hold for
# every endpoint, including ones added later.
Blueprint.ARGUMENTS_PARSER = parsing.Parser()


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
    if request.method in WRITE_METHODS:
        parsing.read_json_body()


class IdConverter(IntegerConverter):
    """`<int:...>` in every route, bounded like the 32-bit id columns: an id past
    them is simply not found (404), instead of overflowing the database driver."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", INT_LIMIT)
        super().__init__(url_map, *args, **kwargs)


class SegmentConverter(UnicodeConverter):
    """`<name>` in every route (a code, a token): a segment holding NUL is not
    found (404), instead of reaching PostgreSQL, which refuses NUL in text."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]", 1)


def _tag_request():
    g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex


def trust_proxies(app) -> None:
    """Behind TRUSTED_PROXIES proxies (nginx: 1), the client's address and scheme
    are what the nearest of them appended to X-Forwarded-For / -Proto, so rate
    limits key on residents, not on nginx. Headers a client sent itself are
    further left and ignored."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def create_app(overrides: dict | None = None) -> Flask:
    app = LinliFlask(__name__, instance_path=str(config_module.ROOT / "instance"))
    app.config.update(config_module.STATIC)
    app.config.update(config_module.from_environment())
    app.config.update(overrides or {})
    config_module.check_safe(app.config)
    trust_proxies(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config_module.engine_options(app.config)
    app.json.ensure_ascii = False  # Chinese as-is
    logs.configure()

    if app.config.get("PASSWORD_HASH_FAST"):
        passwords.configure(time_cost=1, memory_cost=8)

    # What the services read, built once (house rule: no flask in the domain).
    app.extensions[core_settings.EXTENSION] = built = core_settings.Settings.from_config(app.config)
    db.init_app(app)
    with app.app_context():
        ping_when_idle(db.engine, app.config["DB_IDLE_PING_SECONDS"])
        savepoints_inside_transactions(db.engine)
        core_settings.bind_engine(db.engine, built)
    # The door's fast path keeps what it read of each activity for the app's life.
    from activities import door_scan

    app.extensions[door_scan.FACTS_CACHE] = {}
    Migrate(app, db, directory=str(config_module.ROOT / "migrations"), render_as_batch=True)
    app.extensions["linli.kv"] = kv.make_store(app.config["REDIS_URL"], app.config["REDIS_PREFIX"])
    limits.init_app(app)

    app.before_request(_tag_request)
    app.before_request(parsing.check_request_head)
    app.before_request(_check_json_body)

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.url_map.converters["default"] = app.url_map.converters["string"] = SegmentConverter
    api = openapi.make_api(app)
    for blueprint in features.api_blueprints():
        api.register_blueprint(blueprint)
    for blueprint in features.html_blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(docs.blp)
    errors.register(app)  # after Api(), whose own HTTP error handler this replaces

    from . import cli

    cli.register(app)
    features.import_models()
    return app

