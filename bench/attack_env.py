"""The stand the attack kit runs against, and the tally it keeps.

Everything on 127.0.0.1: a scratch PostgreSQL database (created, migrated and
dropped here), a redis-server of the kit's own on a free port (so the drill can
stop it without touching anyone else's), a TCP proxy in front of PostgreSQL
(so the drill can cut the database for the app alone, never the shared
cluster), and gunicorn (2 workers × 4 threads) on a free port. Every process
started here is stopped by its own pid in `Stand.close()`.
"""
from __future__ import annotations

import json
import logging
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scratch_db import create_database  # noqa: E402

PG_SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
LOCAL = ("127.0.0.1", "localhost")
WORKERS, THREADS = 2, 4
HTTP_TIMEOUT = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


# -- the tally --------------------------------------------------------------------------

@dataclass
class Row:
    """One line of the table. tried = allowed + refused + wrong + server_errors;
    `lost` counts points or stock that do not add up (drills only)."""
    name: str
    tried: int = 0
    allowed: int = 0
    refused: int = 0
    wrong: int = 0
    server_errors: int = 0
    lost: int = 0
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, verdict: str, failure: str | None = None) -> None:
        with self.lock:
            self.tried += 1
            if verdict == "allowed":
                self.allowed += 1
            elif verdict == "refused":
                self.refused += 1
            elif verdict == "5xx":
                self.server_errors += 1
            else:
                self.wrong += 1
            if failure is not None and verdict in ("wrong", "5xx"):
                self.failures.append(failure)

    def lose(self, what: str, amount: int = 1) -> None:
        with self.lock:
            self.lost += amount
            self.failures.append(f"LOST: {what}")


def is_envelope(response: requests.Response) -> bool:
    """API.md: every error is {"error": {"code", "message", "details"}} with its status."""
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"].isupper()
            and isinstance(error.get("message"), str) and isinstance(error.get("details"), dict))


def error_code(response: requests.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def describe(method: str, url: str, response: requests.Response | None, note: str = "") -> str:
    path = url.split("127.0.0.1", 1)[-1]
    path = path.split("/", 1)[-1] if "/" in path else path
    if response is None:
        return f"{method} /{path}{note} -> no answer"
    text = re.sub(r'"(access|refresh)_token":\s*"[^"]+"', r'"\1_token":"…"', response.text)[:160]
    text = text.replace("\n", " ")
    return f"{method} /{path}{note} -> {response.status_code} {text}"


# -- PostgreSQL behind a proxy the drill can cut ------------------------------------------

class TcpProxy:
    """127.0.0.1:<port> → the PostgreSQL server. `cut()` drops every connection and
    refuses new ones (accepts and closes at once, as a dead server's host would
    reset them) until `restore()`."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.is_cut = False
        self.closed = False
        self.pairs: set[tuple[socket.socket, socket.socket]] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name="pg-proxy").start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.is_cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            pair = (client, upstream)
            with self.lock:
                self.pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair):
        client, upstream = pair
        peer = {client: upstream, upstream: client}
        try:
            while not self.closed:
                ready, _, _ = select.select([client, upstream], [], [], 0.5)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peer[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            self._drop(pair)

    def _drop(self, pair):
        with self.lock:
            self.pairs.discard(pair)
        for sock in pair:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def cut(self):
        self.is_cut = True
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            self._drop(pair)

    def restore(self):
        self.is_cut = False

    def close(self):
        self.closed = True
        self.cut()
        self.listener.close()


# -- the stand ---------------------------------------------------------------------------

class Stand:
    def __init__(self):
        server = sa.make_url(PG_SERVER)
        if server.host not in LOCAL:
            raise SystemExit("the attack kit targets 127.0.0.1 only")
        self.run = uuid.uuid4().hex[:8]
        self.server = server
        self.db_url = None
        self.drop_database = None
        self.proxy = None
        self.redis = None
        self.redis_port = free_port()
        self.redis_dir = Path(f"/tmp/linli-attack-{self.run}")
        self.gunicorn = None
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api = self.base + "/api/v1"
        self.secret = "attack-" + uuid.uuid4().hex
        self.app = None
        self.server_log_path = None
        self.keep_log = False

    # environment ---------------------------------------------------------------------

    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def env(self, database_url: str) -> dict:
        huge = "1000000 per minute"
        return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": self.redis_url(),
                "REDIS_PREFIX": f"linli-attack-{self.run}:", "SECRET_KEY": self.secret,
                "DEV_LOGIN": "0",  # as in production: residents' tokens are minted by the kit
                # WeChat is never called: a closed local port (login answers 503 WECHAT_UNAVAILABLE)
                "WECHAT_API_BASE": f"http://127.0.0.1:{free_port()}", "WECHAT_TIMEOUT_SECONDS": "1",
                "RATELIMIT_LOGIN": huge, "RATELIMIT_CHECKIN": huge, "RATELIMIT_STAFF_SCAN": huge}

    def app_env(self) -> dict:
        """What gunicorn gets: the database through the proxy."""
        proxied = sa.make_url(self.db_url).set(host="127.0.0.1", port=self.proxy.port)
        return self.env(proxied.render_as_string(hide_password=False))

    def direct_env(self) -> dict:
        """What the kit's own checks get: the database itself."""
        return self.env(self.db_url)

    # lifecycle -------------------------------------------------------------------------

    def open(self):
        self.db_url, self.drop_database = create_database(PG_SERVER, f"linli_attack_{self.run}")
        self.start_redis()
        self.proxy = TcpProxy(self.server.host if self.server.host != "localhost" else "127.0.0.1",
                              self.server.port or 5432)
        os.environ.update({k: v for k, v in self.direct_env().items()
                           if k in ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "SECRET_KEY", "DEV_LOGIN")})
        from flask_migrate import upgrade

        from api import create_app

        # In this process only (seeding): cheap password hashes; the server keeps the real cost.
        self.app = create_app({"PASSWORD_HASH_FAST": True})
        logging.disable(logging.INFO)  # alembic's own log configuration would print every step
        try:
            with self.app.app_context():
                upgrade()
        finally:
            logging.disable(logging.NOTSET)

    def start_redis(self):
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        self.redis = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.redis_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self.redis_up, 10):
            raise RuntimeError("redis-server did not start")

    def redis_up(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.redis_port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop_redis(self):
        """SHUTDOWN NOSAVE, as if the cache machine died."""
        import redis

        try:
            redis.Redis(port=self.redis_port, socket_timeout=1).shutdown(nosave=True)
        except redis.RedisError:
            pass  # the connection closes under the command
        try:
            self.redis.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.redis.kill()
            self.redis.wait()

    def start_server(self):
        self.gunicorn = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(WORKERS), "--threads", str(THREADS),
             "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "60",
             "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=self.app_env(), stdout=subprocess.DEVNULL, stderr=self._server_log())
        if not wait_until(lambda: self.worker_pids() and self.healthy(), 60, 0.2):
            raise RuntimeError("gunicorn did not come up within 60 s")
        wait_until(lambda: len(self.worker_pids()) == WORKERS, 20, 0.2)

    def _server_log(self):
        """gunicorn's stderr (tracebacks of 500s); kept after the run only if `keep_log`."""
        self.server_log_path = Path(f"/tmp/linli-attack-{self.run}-gunicorn.log")
        return open(self.server_log_path, "ab")

    def causes_of_500s(self) -> dict[str, str]:
        """request id → the first exception line of its traceback in the server's log."""
        if self.server_log_path is None or not self.server_log_path.exists():
            return {}
        causes, current = {}, None
        for line in self.server_log_path.read_text(errors="replace").splitlines():
            marker = re.search(r"unexpected error, request (\w+)", line)
            if marker:
                current = marker.group(1)
            elif current and re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Detected|Violation)\b.*", line):
                causes[current] = line[:200]
                current = None
        return causes

    def healthy(self) -> bool:
        try:
            return requests.get(self.api + "/ping", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children, from /proc."""
        if self.gunicorn is None:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.gunicorn.pid:
                found.append(int(entry))
        return sorted(found)

    @staticmethod
    def cpu_ticks(pid: int) -> int:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0
        return int(fields[11]) + int(fields[12])

    def kill_worker(self, since: dict | None = None) -> int | None:
        """SIGKILL one gunicorn worker (the master starts a new one): with `since`
        (pid → CPU ticks at some moment), the one that has worked most since then."""
        pids = self.worker_pids()
        if not pids:
            return None
        victim = pids[0]
        if since is not None:
            victim = max(pids, key=lambda pid: self.cpu_ticks(pid) - since.get(pid, 0))
        os.kill(victim, signal.SIGKILL)
        return victim

    def wait_for_workers(self, seconds: float = 30) -> bool:
        return wait_until(lambda: len(self.worker_pids()) == WORKERS and self.healthy(), seconds, 0.2)

    def points_verify(self) -> tuple[bool, str]:
        """`flask --app wsgi points verify` on the database itself: (ok, its last line)."""
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "points", "verify"], cwd=ROOT,
                              env=self.direct_env(), capture_output=True, text=True, timeout=120)
        lines = (done.stdout.strip() or done.stderr.strip() or "(no output)").splitlines()
        return done.returncode == 0 and lines[-1].endswith("ok"), " | ".join(lines[-3:])

    def close(self):
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.terminate()
            try:
                self.gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()
        if self.app is not None:
            from core.db import db

            with self.app.app_context():
                db.session.remove()
                db.engine.dispose()
        if self.proxy is not None:
            self.proxy.close()
        if self.redis is not None and self.redis.poll() is None:
            self.stop_redis()
        if self.drop_database is not None:
            self.drop_database()
        shutil.rmtree(self.redis_dir, ignore_errors=True)
        if self.server_log_path is not None and not self.keep_log:
            self.server_log_path.unlink(missing_ok=True)


class Http:
    """requests with a session per thread; transport errors come back as None."""

    def __init__(self, base: str):
        self.base = base
        self.local = threading.local()

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def call(self, method: str, path: str, token: str | None = None, body=None, headers=None,
             params=None, timeout: float = HTTP_TIMEOUT, raw: bytes | None = None):
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if raw is not None:
            data = raw
            sent.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            sent["Content-Type"] = "application/json"
        try:
            return self.session().request(method, self.base + path, data=data, headers=sent,
                                          params=params, timeout=timeout)
        except requests.RequestException:
            self.local.session = None  # a fresh connection next time
            return None
