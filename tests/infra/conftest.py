"""Infrastructure tests: a private ``redis-server`` and real Celery workers.

Each test gets its own ``redis-server`` on a free loopback port (never the shared 6379), which
it can stop, start again, pause (SIGSTOP) and resume. The web side (the test client) is
pointed at it as cache and broker; workers are ``celery worker`` subprocesses against it and
against the test database, so these tests need PostgreSQL (the workers must see the rows the
test commits) and ``redis-server`` on the PATH.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from tests.conftest import require_postgresql

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.infra)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class RedisServer:
    """A ``redis-server`` this test owns: started, stopped, paused and resumed by its pid."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.answers, timeout=10, what=f"redis-server on port {self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """The server is gone: connections are refused at once."""
        if self.process is not None:
            if self.paused:
                self.resume()
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        """The server hangs: connections are accepted by the kernel, nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.paused = False


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: the fault tests need it on the PATH")
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()  # always: resumes a paused server first, then kills it


def _reset_broker_pools(app) -> None:
    """Forget pooled broker connections, so the next send connects to the current URL."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis_app(redis_server) -> Iterator[RedisServer]:
    """The web side (this test process) uses the private Redis as its cache and broker."""
    from config.celery import app
    from outbox import breaker

    # The cache as base.py configures it when REDIS_URL is set, at the private server.
    caches = {
        "default": {
            "BACKEND": "outbox.cache.ResilientRedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    saved = {key: app.conf[key] for key in ("broker_url", "broker_write_url", "broker_read_url")}
    app.conf.update(broker_url=redis_server.url, broker_write_url=None, broker_read_url=None)
    _reset_broker_pools(app)
    breaker.reset()
    try:
        with override_settings(CACHES=caches, CELERY_BROKER_URL=redis_server.url):
            yield redis_server
    finally:
        app.conf.update(saved)
        _reset_broker_pools(app)
        breaker.reset()


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


class Workers:
    """Celery workers started by this test as subprocesses, each in its own process group
    (so a SIGKILL takes the pool children with the parent, as a lost machine would)."""

    def __init__(self, redis: RedisServer, log_dir: Path) -> None:
        self.redis = redis
        self.log_dir = log_dir
        self.started: list[subprocess.Popen] = []

    def start(self, **env: str) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{len(self.started)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "tests.infra.fault_worker", "worker",
                "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--hostname", f"fault{len(self.started)}@%h",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": _database_url(),
                "REDIS_URL": self.redis.url,
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.started.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-4000:]}"
            for path in sorted(self.log_dir.glob("worker-*.log"))
        )

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill(process)


@pytest.fixture
def workers(transactional_db, redis_app, tmp_path) -> Iterator[Workers]:
    """Stopped before the test database is flushed (the fixture depends on it)."""
    require_postgresql()
    started = Workers(redis_app, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()
