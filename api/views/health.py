from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.schemas.common import Instant
from core import clock, outages
from core.db import db

POSITION = 10  # its section's place in the API reference
blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Liveness")


class HealthOut(Schema):
    status = fields.String(metadata={"description": "ok；Redis 不应答时为 degraded"})
    time = Instant(metadata={"description": "服务器当前时间（配置的时区，如 +08:00）"})
    database = fields.Boolean(metadata={"description": "数据库是否应答"})
    redis = fields.Boolean(metadata={"description": "Redis 是否应答（没有 Redis 应用照常工作）"})
    down = fields.List(fields.String(), metadata={"description": "不应答的依赖"})


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthOut)
def health():
    """Whether the database and Redis answer. The app works without Redis
    (200, `degraded`); without the database it cannot (503)."""
    return outages.health(engine=db.engine, store=current_app.extensions["linli.kv"], now=clock.now())


class PongOut(Schema):
    pong = fields.Boolean(metadata={"description": "true"})


@blp.route("/ping", methods=["GET"])
@blp.response(200, PongOut)
def ping():
    """Ping: no database, no Redis.

    The floor the benchmarks compare against.
    """
    return {"pong": True}
