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


def test_production_profile_refuses_a_short_metrics_token():
    result = run_manage(
        "check",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="portal.example.org",
        PORTAL_METRICS_TOKEN="tok-q7Zr",
    )
    assert result.returncode != 0
    assert "PORTAL_METRICS_TOKEN must be at least 32" in result.stderr
    assert "tok-q7Zr" not in result.stderr


def run_default(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """manage.py under the default settings, without a SECRET_KEY from the caller's environment."""
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    environment.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


def test_default_settings_refuse_the_built_in_key_with_debug_off():
    result = run_default("check", DEBUG="0")
    assert result.returncode != 0
    assert "set SECRET_KEY to a random value" in result.stderr


def test_default_settings_with_debug_off_run_with_a_real_key():
    result = run_default("check", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(60))
    assert result.returncode == 0, result.stderr


def test_production_profile_requires_allowed_hosts():
    environment = {k: v for k, v in os.environ.items() if k != "ALLOWED_HOSTS"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            **environment,
            "DJANGO_SETTINGS_MODULE": "config.settings_production",
            "SECRET_KEY": secrets.token_urlsafe(60),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must name" in result.stderr


def test_production_profile_sending_email_requires_the_public_address():
    environment = {k: v for k, v in os.environ.items() if k != "PORTAL_BASE_URL"}
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings_production",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="portal.example.org",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )

    def check(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=ROOT, env={**environment, **env},
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    refused = check()
    assert refused.returncode != 0 and "PORTAL_BASE_URL must be" in refused.stderr
    assert check(PORTAL_BASE_URL="https://portal.example.org").returncode == 0


def test_the_demo_runs_with_debug_off_and_its_own_kept_key():
    script = (ROOT / "bin" / "run").read_text()
    assert ".state/secret-key" in script and "token_urlsafe" in script
    assert "DEBUG=0" in script
    assert "collectstatic" in script, "with DEBUG off, static files are served from the collected folder"
