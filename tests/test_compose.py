"""docker-compose.yml: valid for a Compose client, and shaped the way production needs it."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")


def compose_command() -> list[str] | None:
    """`docker compose` when the plugin is there, else `docker-compose`, else None."""
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False, timeout=30
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.fixture(scope="module")
def compose() -> list[str]:
    command = compose_command()
    if command is None:
        reason = "needs a Compose client (docker compose or docker-compose) on PATH"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}:
            pytest.fail(f"CI=true, so this is a failure, not a skip: {reason}", pytrace=False)
        pytest.skip(reason)
    return command


def run_config(compose: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "POSTGRES_PASSWORD"}}
    return subprocess.run(
        [*compose, "--file", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]


def test_compose_accepts_the_file_when_a_secret_key_is_given(compose):
    result = run_config(compose, SECRET_KEY="test-only-secret")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_a_secret_key(compose):
    result = run_config(compose)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_production_services_are_all_there(services):
    assert set(services) == {"postgres", "redis", "web", "proxy", "worker", "beat"}
    assert services["postgres"]["image"].startswith("postgres:17")


def _replicas(service: dict) -> int:
    """A service's replicas as Compose reads them: `${WEB_REPLICAS:-3}` counts as 3."""
    value = str(service.get("deploy", {}).get("replicas", 1))
    match = re.fullmatch(r"\$\{[A-Z_]+:-(\d+)\}|(\d+)", value)
    assert match, f"replicas must be a number or ${{NAME:-number}}, not {value!r}"
    return int(match.group(1) or match.group(2))


@pytest.mark.parametrize("name", ["web", "worker"])
def test_web_and_worker_run_as_several_replicas(services, name):
    assert _replicas(services[name]) > 1


def test_there_is_exactly_one_beat(services):
    assert _replicas(services["beat"]) == 1
    beats = [
        name
        for name, service in services.items()
        if "beat" in [str(part) for part in service.get("command", [])]
    ]
    assert beats == ["beat"]


def test_only_the_proxy_is_published_and_it_routes_to_every_web_replica(services):
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["image"].startswith("nginx:")
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    mounts = [v.split(":") for v in services["proxy"]["volumes"]]
    config = next(ROOT / src for src, dest, *_ in mounts if dest.startswith("/etc/nginx/"))
    text = config.read_text(encoding="utf-8")
    # By name through Docker's DNS, re-resolved: each replica, also those added later.
    assert re.search(r"server\s+web:8000\s+resolve;", text)
    assert "proxy_pass http://throughline_web;" in text
    for header in (
        "Host $http_host",
        "X-Forwarded-Proto",
        "X-Forwarded-For $proxy_add_x_forwarded_for",
    ):
        assert f"proxy_set_header {header}" in text
    port = re.search(r"listen\s+(\d+);", text).group(1)
    assert any(p.endswith(f":{port}") for p in services["proxy"]["ports"])


def test_the_proxy_lets_the_largest_upload_the_app_reads_through():
    from django.conf import settings

    text = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    megabytes = int(re.search(r"client_max_body_size\s+(\d+)m;", text).group(1))
    assert megabytes * 1024 * 1024 > settings.UPLOAD_MAX_REQUEST_SIZE


def test_behind_the_proxy_sign_in_lockouts_go_by_the_persons_address(services):
    count = services["web"]["environment"]["TRUSTED_PROXY_COUNT"]
    assert re.fullmatch(r"\$\{TRUSTED_PROXY_COUNT:-[1-9]\}", count)


@pytest.mark.parametrize("name", ["web", "proxy", "worker"])
def test_the_serving_services_report_their_health(services, name):
    test = services[name]["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1
    if name == "web":
        assert (ROOT / test[-1]).exists()


def test_postgres_and_redis_report_their_health(services):
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]
    assert "ping" in services["redis"]["healthcheck"]["test"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_postgres_and_redis(services, name):
    depends_on = services[name]["depends_on"]
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_in_production_mode_on_postgres_and_redis(services, name):
    env = services[name]["environment"]
    assert env["DEBUG"] == "0"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), "no default secret may be committed"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://redis:")


def test_worker_and_beat_are_separate_celery_processes(services):
    assert services["worker"]["command"][:4] == ["celery", "-A", "throughline", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "throughline", "beat"]
    assert "ports" not in services["worker"]
    assert "ports" not in services["beat"]


def test_the_image_migrates_then_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.13-slim" in dockerfile
    assert "collectstatic" in dockerfile
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    assert cmd.index("migrate") < cmd.index("gunicorn")
    assert "0.0.0.0:8000" in cmd


@pytest.mark.django_db(transaction=True)
def test_the_web_health_check_passes_on_a_serving_app_and_fails_without_one(live_server):
    script = ROOT / "deploy" / "web_health.py"
    port = live_server.url.rsplit(":", 1)[1]
    env = {**os.environ, "ALLOWED_HOSTS": "localhost,plan.example.com"}

    serving = subprocess.run(
        [sys.executable, str(script), port], env=env, capture_output=True, text=True, timeout=30
    )
    assert serving.returncode == 0, serving.stderr

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nobody = str(sock.getsockname()[1])
    gone = subprocess.run(
        [sys.executable, str(script), nobody], env=env, capture_output=True, text=True, timeout=30
    )
    assert gone.returncode == 1
    assert "unhealthy" in gone.stderr
