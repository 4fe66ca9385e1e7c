"""Behind gunicorn, a request too long or malformed for it still gets the API's
JSON envelope: the app answers what reaches it (gunicorn.conf.py lets heads up
to its own limits through), and gunicorn's error page is the envelope too."""
import json
import os
import runpy
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.parsing import MAX_HEADER_LENGTH, MAX_URL_LENGTH
from tests.support import real_clock_env

# Under libfaketime (`make test-at`) time.sleep in this process fails with EINVAL;
# nothing here depends on the date, so the date passes leave this module out.
pytestmark = pytest.mark.skipif("FAKETIME" in os.environ, reason="about request heads, not dates")

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "gunicorn.conf.py"


def test_gunicorns_limits_sit_above_the_apps():
    settings = runpy.run_path(str(CONFIG))
    assert settings["limit_request_line"] > MAX_URL_LENGTH + len("GET  HTTP/1.1")
    assert settings["limit_request_field_size"] > MAX_HEADER_LENGTH


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    env = {key: value for key, value in real_clock_env().items()
           if key not in ("REDIS_URL", "SECRET_KEY", "DATABASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('gunicorn') / 'linli.db'}", DEV_LOGIN="1")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", str(CONFIG), "-w", "1",
         "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60  # a generous bound on start-up, not a measurement
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start")
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def exchange(port: int, head: bytes):
    """Sends a raw request head; returns (status, headers, body as JSON)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received:
                top, _, body = received.partition(b"\r\n\r\n")
                lines = top.decode("latin-1").split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:])
                if len(body) >= int(headers.get("Content-Length", 0)):
                    break
    status = int(lines[0].split()[1])
    return status, headers, json.loads(body)


def get(path: str, *extra_headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", "Connection: close", *extra_headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


@pytest.mark.parametrize("head,status,code,by_app", [
    (get("/api/v1/ping?x=" + "a" * 5000), 414, "URI_TOO_LONG", True),
    (get("/api/v1/ping?x=" + "a" * 9000), 414, "URI_TOO_LONG", False),  # past gunicorn's maximum
    (get("/api/v1/ping", "X-Note: " + "a" * 10_000), 431, "HEADERS_TOO_LARGE", True),
    (get("/api/v1/ping", "X-Note: " + "a" * 20_000), 431, "HEADERS_TOO_LARGE", False),
    (get("/api/v1/ping", "User-Agent: a\x00b"), 400, "BAD_REQUEST", False),
    (b"NOT A REQUEST\r\n\r\n", 400, "BAD_REQUEST", False),
])
def test_every_answer_about_the_request_head_is_the_envelope(server, head, status, code, by_app):
    got_status, headers, body = exchange(server, head)
    assert got_status == status
    assert headers["Content-Type"].startswith("application/json")
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"] and body["error"]["details"] == {}
    assert ("X-Request-ID" in headers) == by_app  # who answered: the app tags its responses


def test_an_ordinary_request_goes_through(server):
    status, _, body = exchange(server, get("/api/v1/ping?x=" + "a" * 3000, "X-Note: " + "a" * 7000))
    assert status == 200 and body == {"pong": True}
