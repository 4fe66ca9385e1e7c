"""A real HTTP server that plays WeChat's `jscode2session`, for tests.

Codes behave by their prefix, like the real service:
  ok:<openid>   one-time code; answers {openid, session_key} (no errcode), then 40163
  union:<openid> the same with a unionid
  invalid       40029 invalid code
  ratelimit     45011 too frequent
  busy          -1 system busy
  garbage       a body that is not JSON
  slow          a good answer (openid "slow"), but only after `slow_seconds`
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeWechat:
    def __init__(self, appid="wx-test-appid", secret="wx-test-secret"):
        self.appid, self.secret = appid, secret
        self.requests: list[dict] = []
        self.used_codes: set[str] = set()
        self.slow_seconds = 2.0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with fake.lock:
                    fake.requests.append({"path": url.path, **query})
                status, body = fake.answer(url.path, query)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")  # WeChat really says text/plain
                self.end_headers()
                try:
                    self.wfile.write(body if isinstance(body, bytes) else json.dumps(body).encode())
                except BrokenPipeError:
                    pass  # the client gave up waiting (the "slow" case)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path, query):
        if path != "/sns/jscode2session":
            return 404, b"not found"
        if query.get("appid") != self.appid or query.get("secret") != self.secret:
            return 200, {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("grant_type") != "authorization_code":
            return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
        code = query.get("js_code", "")
        if code == "invalid":
            return 200, {"errcode": 40029, "errmsg": "invalid code"}
        if code == "ratelimit":
            return 200, {"errcode": 45011, "errmsg": "api minute-quota reach limit"}
        if code == "busy":
            return 200, {"errcode": -1, "errmsg": "system error"}
        if code == "garbage":
            return 200, b"<html>502 Bad Gateway</html>"
        if code == "slow":  # so only a client that stopped waiting fails
            time.sleep(self.slow_seconds)
            return 200, {"openid": "slow", "session_key": "SESSIONKEY-slow"}
        kind, _, openid = code.partition(":")
        if kind in {"ok", "union"} and openid:
            with self.lock:
                if code in self.used_codes:
                    return 200, {"errcode": 40163, "errmsg": "code been used"}
                self.used_codes.add(code)
            answer = {"openid": openid, "session_key": "SESSIONKEY-" + openid}
            if kind == "union":
                answer["unionid"] = "union-" + openid
            return 200, answer
        return 200, {"errcode": 40029, "errmsg": "invalid code"}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
