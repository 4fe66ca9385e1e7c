from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core import clock

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Liveness")


class HealthOut(Schema):
    status = fields.String()
    time = fields.String()
    redis = fields.Boolean()


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthOut)
def health():
    """Cheap liveness probe; says whether Redis answers (the app works without it)."""
    return {"status": "ok", "time": clock.now().isoformat(),
            "redis": current_app.extensions["linli.kv"].ping()}


class PongOut(Schema):
    pong = fields.Boolean()


@blp.route("/ping", methods=["GET"])
@blp.response(200, PongOut)
def ping():
    """No database, no Redis: the floor the benchmarks compare against."""
    return {"pong": True}
