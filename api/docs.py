"""The API reference at /api/v1/docs: Swagger UI served from the application.

The assets come from the `flask-swagger-ui` package (its `dist/` folder), so
the page works with no internet and no CDN, e.g. on a room's intranet or
behind the Great Firewall.
"""
from importlib.metadata import version
from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, render_template, send_from_directory, url_for

ASSETS = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS_VERSION = version("flask-swagger-ui")
ONE_DAY = 24 * 3600

# https://swagger.io/docs/open-source-tools/swagger-ui/usage/configuration/
UI_CONFIG = {
    "dom_id": "#swagger-ui",
    "deepLinking": True,
    "docExpansion": "list",
    "defaultModelsExpandDepth": 0,
    "displayRequestDuration": True,
    "filter": True,
    "persistAuthorization": True,
    "validatorUrl": None,  # the badge would ask validator.swagger.io about the document
}

blp = Blueprint("docs", __name__, url_prefix="/api/v1/docs", template_folder="templates")


@blp.route("", methods=["GET"])
def page():
    config = dict(UI_CONFIG, url=url_for("api-docs.openapi_json"))
    return render_template("docs.html", config=config,
                           css=url_for("docs.asset", filename="swagger-ui.css", v=ASSETS_VERSION),
                           script=url_for("docs.asset", filename="swagger-ui-bundle.js", v=ASSETS_VERSION),
                           icon=url_for("docs.asset", filename="favicon-32x32.png", v=ASSETS_VERSION))


@blp.route("/assets/<path:filename>", methods=["GET"])
def asset(filename):
    return send_from_directory(ASSETS, filename, max_age=ONE_DAY)
