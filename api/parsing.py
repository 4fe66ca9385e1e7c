"""Reading requests: the rules every body, query string and header obey,
checked once here rather than field by field.

- A JSON body is parsed once (`read_json_body`, before any view runs), at most
  MAX_JSON_DEPTH levels deep: Python's JSON parser and marshmallow recurse, so
  10,000 nested brackets were a RecursionError. NaN and Infinity are not JSON.
- The parser every `blp.arguments` uses (`Parser`) hands schemas that parsed
  body instead of parsing it again, and refuses text no column can store (NUL,
  lone surrogates: see core.bounds) anywhere in what a schema reads — every
  field of the body at any depth, every query argument, the headers a schema
  names — as 422 VALIDATION_ERROR naming the field. It runs where the schema
  would, so authentication, existence and permission still answer first.
- PATCH without a body is a client bug, not an empty change: 400.
"""
import json

import marshmallow as ma
from flask import g, request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge, RequestURITooLarge

from core.bounds import TEXT_PROBLEM, is_storable_text, printable
from core.errors import Code, DomainError

MAX_JSON_DEPTH = 32
# The request head, checked by the app so that the answer is the API's envelope;
# gunicorn.conf.py lets longer ones through to here (its own limits sit above).
MAX_URL_LENGTH = 4096
MAX_HEADER_LENGTH = 8190


def check_request_head():
    """414 for a URL over MAX_URL_LENGTH, 431 for a header line over
    MAX_HEADER_LENGTH, 400 for NUL in a header (it would reach the database,
    e.g. as a scan's device)."""
    environ = request.environ
    url = environ.get("RAW_URI") or environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")
    if len(url) > MAX_URL_LENGTH:
        raise RequestURITooLarge(f"请求地址过长（至多 {MAX_URL_LENGTH} 字节）")
    for name, value in request.headers.items():
        if len(name) + len(value) + 2 > MAX_HEADER_LENGTH:
            raise RequestHeaderFieldsTooLarge(f"请求头 {name} 过长（每行至多 {MAX_HEADER_LENGTH} 字节）")
        if "\x00" in value:
            raise DomainError(Code.BAD_REQUEST, f"请求头 {name} 含空字符")


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _too_deep(value) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def parse_json(raw: bytes):
    """`raw` as JSON, or BAD_REQUEST: malformed, NaN/Infinity, or nested too deep."""
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        body = None
        deep = True
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        raise DomainError(Code.BAD_REQUEST, "请求体不是有效的 JSON")
    else:
        deep = isinstance(body, (dict, list)) and _too_deep(body)
    if deep:
        raise DomainError(Code.BAD_REQUEST, f"JSON 嵌套过深（至多 {MAX_JSON_DEPTH} 层）")
    return body


def read_json_body():
    """The request's JSON body (parsed once, kept for the parser), or None when
    there is none. BAD_REQUEST unless it is a JSON object."""
    raw = request.get_data(cache=True)  # 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        return None
    if not request.is_json:
        raise DomainError(Code.BAD_REQUEST, "请求体须为 JSON（Content-Type: application/json）")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise DomainError(Code.BAD_REQUEST, "请求体须为 JSON 对象")
    g.json_body = body
    return body


def text_problems(value) -> dict:
    """Where in `value` (JSON: dicts, lists, scalars) text is unstorable, in
    marshmallow's error shape: {"title": [...], "scans": {0: {"code": [...]}}}.
    A bad key is named escaped. Iterative: depth is not bounded here."""
    paths = []
    stack = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not is_storable_text(item):
                paths.append(path)
        elif isinstance(item, dict):
            for key, child in item.items():
                if is_storable_text(key):
                    stack.append((path + (key,), child))
                else:
                    paths.append(path + (printable(key),))
        elif isinstance(item, list):
            stack.extend((path + (index,), child) for index, child in enumerate(item))
    errors: dict = {}
    for path in paths:
        if not path:  # a bare string: never a whole body, which is an object
            errors["_schema"] = [TEXT_PROBLEM]
            continue
        node = errors
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = [TEXT_PROBLEM]
    return errors


def _multidict_problems(values, names) -> dict:
    """Query arguments or headers: each name given once in the answer, however often sent."""
    problems = {}
    for name in names:
        if not is_storable_text(name):
            problems[printable(name)] = [TEXT_PROBLEM]
        elif not all(is_storable_text(value) for value in values.getlist(name)):
            problems[name] = [TEXT_PROBLEM]
    return problems


class Parser(FlaskParser):
    """webargs' Flask parser, reading the body parsed once and refusing unstorable text."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        body = g.json_body if "json_body" in g else read_json_body()
        return core.missing if body is None else body

    def load_json(self, req, schema):
        data = super().load_json(req, schema)
        if data is core.missing and req.method == "PATCH":
            raise DomainError(Code.BAD_REQUEST, "PATCH 须有请求体：给出要修改的字段")
        return data

    def pre_load(self, location_data, *, schema, req, location):
        if location in ("json", "json_or_form"):
            problems = text_problems(location_data)
        elif location in ("query", "querystring"):
            problems = _multidict_problems(req.args, req.args.keys())
        elif location == "headers":
            problems = _multidict_problems(
                req.headers, [field.data_key or name for name, field in schema.fields.items()])
        else:
            problems = {}
        if problems:
            raise ma.ValidationError(problems)
        return location_data
