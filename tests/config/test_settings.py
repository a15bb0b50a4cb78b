"""The production profile: strict and complete."""

import os
import secrets
import subprocess
import sys

from tests.support.stack import ROOT


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_production", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


def test_production_profile_passes_check_deploy():
    result = run_manage("check", "--deploy", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="portal.example.org")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_production_profile_refuses_weak_secret_key():
    result = run_manage("check", SECRET_KEY="short")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
