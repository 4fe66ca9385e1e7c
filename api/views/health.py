from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core import clock

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Liveness")


class HealthOut(Schema):
    status = fields.String(metadata={"description": "ok"})
    time = fields.String(metadata={"description": "服务器当前时间"})
    redis = fields.Boolean(metadata={"description": "Redis 是否应答（没有 Redis 应用照常工作）"})


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthOut)
def health():
    """Liveness probe.

    Cheap; says whether Redis answers (the app works without it).
    """
    return {"status": "ok", "time": clock.now().isoformat(),
            "redis": current_app.extensions["linli.kv"].ping()}


class PongOut(Schema):
    pong = fields.Boolean(metadata={"description": "true"})


@blp.route("/ping", methods=["GET"])
@blp.response(200, PongOut)
def ping():
    """Ping: no database, no Redis.

    The floor the benchmarks compare against.
    """
    return {"pong": True}
