"""Personal API tokens, and the first result of each idempotent write."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.models import Team


class ApiToken(models.Model):
    """A personal token a script uses instead of a password; only a hash of its secret is stored.

    The secret reads ``<prefix>.<random>``; the prefix is stored in clear so a presented
    token is found by one indexed lookup, and its hash is then compared in constant time.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="user", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("name", max_length=100)
    prefix = models.CharField("prefix", max_length=16, unique=True, editable=False)
    secret_hash = models.CharField("secret hash (SHA-256)", max_length=64, editable=False)
    read_only = models.BooleanField("read only", default=False, help_text="Refused on every write.")
    teams = models.ManyToManyField(
        Team,
        verbose_name="restricted to teams",
        blank=True,
        related_name="+",
        help_text="Empty: every team of the user. Otherwise the token sees and acts on these teams only.",
    )
    expires_at = models.DateTimeField("expires", null=True, blank=True)
    revoked_at = models.DateTimeField("revoked", null=True, blank=True)
    created_at = models.DateTimeField("created", auto_now_add=True)
    last_used_at = models.DateTimeField("last used", null=True, blank=True)
    last_used_address = models.GenericIPAddressField("last address", null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an ``Idempotency-Key``; a repeat gets it back instead of a second write.

    One row per user and key (a unique constraint), so concurrent repeats wait on the
    first one's row and then replay its answer.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="user", on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField("key", max_length=255)
    fingerprint = models.CharField(
        "request fingerprint", max_length=64, help_text="SHA-256 of method, path and body: a key is for one request."
    )
    status_code = models.PositiveSmallIntegerField("status code", null=True, blank=True)
    response_body = models.JSONField("response body", null=True, blank=True)
    location = models.CharField("location", max_length=500, blank=True)
    created_at = models.DateTimeField("created", auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "idempotency record"
        constraints = [models.UniqueConstraint(fields=("user", "key"), name="idempotency_unique_user_key")]

    def __str__(self) -> str:
        return f"{self.user} {self.key}"
