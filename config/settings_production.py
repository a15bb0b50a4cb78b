"""Production profile: strict, HTTPS only, and no default secret.

Use with ``DJANGO_SETTINGS_MODULE=config.settings_production``. It passes
``manage.py check --deploy`` without a warning.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings import *  # noqa: F403
from config.settings import env_bool

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters.")
if not os.environ.get("ALLOWED_HOSTS", "").strip():
    # The development default (localhost) would serve any Host header routed here; name the real ones.
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the portal's host names (comma-separated).")

if EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend" and not os.environ.get("PORTAL_BASE_URL"):  # noqa: F405
    # Links in e-mails are built from it; the development default would point every reader at their own machine.
    raise ImproperlyConfigured("PORTAL_BASE_URL must be the portal's public address when e-mail is sent by SMTP.")

if 0 < len(os.environ.get("PORTAL_METRICS_TOKEN", "")) < 32:
    # Anyone holding it reads every team's machine names; a guessable token is no lock.
    raise ImproperlyConfigured("PORTAL_METRICS_TOKEN must be at least 32 random characters (or unset: metrics off).")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
