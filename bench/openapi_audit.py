"""Audits the served OpenAPI document (GET /api/v1/openapi.json) against the app.

Counts, over the document:
- operations without a summary;
- operations without security that need a token (the app answers 401 without one),
  and operations that read a token without saying so (401 for a bad one);
- operations without a documented error status;
- error responses whose schema is not the envelope {"error": {code, message, details}};
- properties without a type;
- errors the app actually answers to simple probes (no token, a bad token, a
  malformed body, a signed-in stranger with an empty body) that the operation
  does not document, status and code.
Every count should be 0. Also prints how many properties carry a description.

    python bench/openapi_audit.py        # a scratch SQLite database, deleted after

tests/api/test_openapi.py runs the same `audit` over the test app.
"""
import logging
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVELOPE = "#/components/schemas/ErrorEnvelope"
METHODS = ("get", "put", "post", "patch", "delete")
COMPOSED = ("allOf", "oneOf", "anyOf")


def operations(spec):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _name(path, method):
    return f"{method.upper()} {path}"


def _has_type(schema) -> bool:
    if "type" in schema or "$ref" in schema:
        return True
    parts = [part for key in COMPOSED for part in schema.get(key, [])]
    return bool(parts) and all(_has_type(part) for part in parts)


def _schemas_in(value, where):
    """Every schema object under `value` with its location: property maps are walked."""
    if isinstance(value, dict):
        if isinstance(value.get("properties"), dict):
            for name, prop in value["properties"].items():
                yield f"{where}.{name}", prop
                yield from _schemas_in(prop, f"{where}.{name}")
        for key, inner in value.items():
            if key != "properties":
                yield from _schemas_in(inner, where)
    elif isinstance(value, list):
        for inner in value:
            yield from _schemas_in(inner, where)


def properties(spec):
    """(location, property schema) for every property in components and in paths."""
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        yield from _schemas_in(schema, name)
    for path, method, operation in operations(spec):
        yield from _schemas_in(operation, _name(path, method))


def _documented(operation, status: int, code: str | None) -> bool:
    response = operation["responses"].get(str(status))
    if response is None:
        return False
    codes = response.get("x-error-codes")
    return code is None or codes is None or code in codes


def _probe_url(path: str, spec_item) -> str:
    integers = {p["name"] for p in spec_item.get("parameters", [])
                if p.get("in") == "path" and p.get("schema", {}).get("type") == "integer"}
    return re.sub(r"{([^}]+)}", lambda m: "1" if m.group(1) in integers else "x", path)


def _error_of(response):
    """(status, code) of an error response; code None when the body is not the envelope."""
    code = None
    if response.mimetype == "application/json":
        body = response.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code")
    return response.status_code, code


def audit(app, *, token: str | None = None) -> dict[str, list[str]]:
    """What is wrong with the document, by check. `token`: a signed-in user's access
    token for the last probe (signed in through /auth/dev when omitted)."""
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    found = {key: [] for key in (
        "operations without a summary",
        "operations without security that need a token",
        "operations that read a token without declaring security",
        "operations declaring a required token that answer without one",
        "operations without a documented error status",
        "error responses whose schema is not the envelope",
        "properties without a type",
        "probe errors the operation does not document",
    )}
    if token is None:
        signed_in = client.post("/api/v1/auth/dev", json={"openid": "openapi-audit"})
        token = signed_in.get_json()["access_token"]

    for path, method, operation in operations(spec):
        name = _name(path, method)
        if not (operation.get("summary") or "").strip():
            found["operations without a summary"].append(name)
        statuses = [int(s) for s in operation.get("responses", {}) if s.isdigit() and int(s) >= 400]
        if not statuses:
            found["operations without a documented error status"].append(name)
        for status in statuses:
            response = operation["responses"][str(status)]
            content = response.get("content", {})
            json_schema = content.get("application/json", {}).get("schema")
            if not content or ("application/json" in content and json_schema != {"$ref": ENVELOPE}):
                found["error responses whose schema is not the envelope"].append(f"{name} {status}")

        security = operation.get("security", [])
        required = bool(security) and all(requirement for requirement in security)
        url = _probe_url(path, spec["paths"][path])
        call = getattr(client, method)
        body = {"json": {}} if method != "get" else {}
        probes = {
            "no token": call(url, **body),
            "a bad token": call(url, headers={"Authorization": "Bearer not-a-token"}, **body),
            "a signed-in stranger": call(url, headers={"Authorization": f"Bearer {token}"}, **body),
        }
        if method != "get":
            probes["a body that is not JSON"] = call(url, data="{", content_type="application/json")
        anonymous, bad_token = _error_of(probes["no token"]), _error_of(probes["a bad token"])
        if anonymous == (401, "UNAUTHENTICATED") and not required:
            found["operations without security that need a token"].append(name)
        if bad_token == (401, "UNAUTHENTICATED") and not security:
            found["operations that read a token without declaring security"].append(name)
        if required and anonymous != (401, "UNAUTHENTICATED"):
            found["operations declaring a required token that answer without one"].append(
                f"{name} answered {anonymous}")
        for label, response in probes.items():
            status, code = _error_of(response)
            if status >= 400 and not _documented(operation, status, code):
                found["probe errors the operation does not document"].append(
                    f"{name} with {label}: {status} {code}")

    for where, prop in properties(spec):
        if isinstance(prop, dict) and not _has_type(prop):
            found["properties without a type"].append(where)
    return found


def description_coverage(spec) -> tuple[int, int]:
    props = [prop for _, prop in properties(spec) if isinstance(prop, dict)]
    described = [prop for prop in props if prop.get("description") or "$ref" in prop]
    return len(described), len(props)


def main() -> int:
    logging.disable(logging.INFO)  # the migrations' progress
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from api import create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/audit.db", "DEV_LOGIN": True,
                          "SECRET_KEY": "openapi-audit", "PASSWORD_HASH_FAST": True,
                          "RATELIMIT_LOGIN": "10000 per minute", "RATELIMIT_CHECKIN": "10000 per minute"})
        with app.app_context():
            upgrade()
        spec = app.test_client().get("/api/v1/openapi.json").get_json()
        found = audit(app)
        described, total = description_coverage(spec)
        with app.app_context():
            from core.db import db

            db.engine.dispose()
    count = sum(1 for _ in operations(spec))
    print(f"served openapi.json: {count} operations, {len(spec['components']['schemas'])} schemas, "
          f"{total} properties")
    for check, items in found.items():
        print(f"{check}: {len(items)}")
        for item in items:
            print(f"    {item}")
    print(f"properties with a description (or a $ref to a described schema): {described} of {total}")
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
