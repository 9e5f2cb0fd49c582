"""Production settings and the gunicorn configuration, run as they are deployed."""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def production_env(**extra: str) -> dict[str, str]:
    # Only what a process needs to start: settings from the test run (or from another test
    # that changed os.environ) must not leak into the production configuration.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        # Neither test touches a database; an in-memory one keeps them off the shared server.
        DATABASE_URL="sqlite:///:memory:",
        REDIS_URL="",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        **extra,
    )
    return env


def test_check_deploy_with_production_settings_warns_only_about_hsts_preload():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    warnings = {
        line.split(")")[0].lstrip("?: (") for line in output.splitlines() if "(security." in line
    }
    assert warnings == {"security.W021"}, output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve():
    """serve(FORWARDED_ALLOW_IPS=…) runs the app under gunicorn with config/gunicorn.conf.py
    and production settings; returns the port."""
    processes = []

    def start(**env: str) -> int:
        port = free_port()
        process = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.conf.py", "config.wsgi:application"],
            cwd=ROOT,
            env=production_env(GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "gunicorn exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                time.sleep(0.2)
        pytest.fail("gunicorn did not start")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


def get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Host": "127.0.0.1", **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_client_that_is_not_the_proxy_cannot_claim_https(serve):
    # This test client (127.0.0.1) is not the configured proxy.
    port = serve(FORWARDED_ALLOW_IPS="192.0.2.10")
    response = get(port, "/api/v1/products/", **{"X-Forwarded-Proto": "https"})
    assert response.status == 301
    assert response.getheader("Location").startswith("https://")


def test_the_configured_proxy_can_say_the_request_came_over_https(serve):
    port = serve(FORWARDED_ALLOW_IPS="127.0.0.1")
    response = get(port, "/api/v1/products/", **{"X-Forwarded-Proto": "https"})
    assert response.status == 401  # served, as HTTPS: the API asks for a token
    assert "max-age=" in response.getheader("Strict-Transport-Security")
    plain = get(port, "/api/v1/products/")
    assert plain.status == 301
