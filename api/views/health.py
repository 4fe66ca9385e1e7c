from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core import clock, outages
from core.db import db

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Liveness")


class HealthOut(Schema):
    status = fields.String(metadata={"description": "ok, or degraded when Redis is down"})
    time = fields.String()
    database = fields.Boolean()
    redis = fields.Boolean()
    down = fields.List(fields.String(), metadata={"description": "the dependencies that do not answer"})


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthOut)
@blp.alt_response(503, description="SERVICE_UNAVAILABLE: the database is down (`details.down`)")
def health():
    """Whether the database and Redis answer. The app works without Redis
    (200, `degraded`); without the database it cannot (503)."""
    return outages.health(engine=db.engine, store=current_app.extensions["linli.kv"], now=clock.now())


class PongOut(Schema):
    pong = fields.Boolean()


@blp.route("/ping", methods=["GET"])
@blp.response(200, PongOut)
def ping():
    """No database, no Redis: the floor the benchmarks compare against."""
    return {"pong": True}
