"""deploy/: the compose file is valid Compose (as `docker compose config` reads it, with the
example settings filled in), refuses to start without its secrets, and sets only settings
the app knows."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from survey import config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _compose() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


pytestmark = pytest.mark.skipif(
    _compose() is None, reason="needs docker compose or docker-compose (.ci/run installs it)"
)


def _config(env_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*_compose(), "--env-file", str(env_file), "-f", str(DEPLOY / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        cwd=DEPLOY,
    )


def test_the_compose_file_is_valid_and_sets_only_known_settings(tmp_path):
    filled = tmp_path / ".env"
    example = (DEPLOY / ".env.example").read_text()
    filled.write_text(example.replace("=\n", "=filled-in\n"))
    done = _config(filled)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert {"app1", "app2", "worker", "migrate", "postgres", "redis", "nginx"} <= set(services)
    assert services["worker"]["command"][-2:] == ["jobs", "worker"]
    for name in ("app1", "app2", "worker"):
        settings = set(services[name]["environment"])
        assert settings <= set(vars(config)), settings - set(vars(config))


def test_the_compose_file_refuses_to_start_without_its_secrets(tmp_path):
    empty = tmp_path / ".env"
    empty.write_text("")
    done = _config(empty)
    assert done.returncode != 0 and "set it in .env" in done.stdout + done.stderr
