from flask_smorest import Blueprint

from api.labels import enums as all_enums
from api.schemas.meta import EnumsOut

POSITION = 120  # its section's place in the API reference
blp = Blueprint("meta", __name__, url_prefix="/api/v1", description="Reference data: enums and their labels")


@blp.route("/meta/enums", methods=["GET"])
@blp.response(200, EnumsOut)
def enums():
    """Every enum a client shows, with its Chinese label.

    Anyone. Values are listed in a stable order; they change only with a new release.
    """
    return all_enums(), 200, {"Cache-Control": "public, max-age=3600"}
