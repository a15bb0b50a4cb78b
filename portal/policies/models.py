"""The rule an administrator writes so that small, ordinary asks need no one to approve them.

The model belongs to the ``portal`` app (``portal.models`` imports it). Kinds, images and
networks are kept as values checked against the kind registry, so a new kind needs no
migration here: an allowlist entry is ``"<kind>:<id>"`` of a row of the kind's image or
network model (``KindHandler.image_model`` / ``network_model``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from portal.amounts import Amounts
from portal.kinds import kind_validate

#: The size limits of a policy, by the quota amount they cap (``portal.amounts.Amounts`` field).
SIZE_LIMIT_FIELDS = {"vcpus": "max_vcpus", "memory_mib": "max_memory_mib", "disk_gib": "max_disk_gib"}


def kinds_validate(value: Any) -> None:
    """Model-field validator: a non-empty list of registered kinds."""
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one kind of resource.", code="invalid")
    for kind in value:
        kind_validate(kind)


def allowlist_validate(value: Any) -> None:
    """Model-field validator: a list of ``"<kind>:<id>"`` entries of registered kinds."""
    if not isinstance(value, list):
        raise ValidationError("An allowlist is a list.", code="invalid")
    for entry in value:
        kind, _, row_id = str(entry).partition(":")
        kind_validate(kind)
        if not row_id.isdigit():
            raise ValidationError(f"{entry!r} is not a <kind>:<id> entry.", code="invalid")


class AutoApprovalPolicy(models.Model):
    """Asks that fit this rule (and the team's quota) are approved at submission, by the policy.

    A team's own policies are tried first, then the global ones (no team). Every limit left
    empty does not limit; an ask names only what its kind has (a container names no network),
    and a check it has nothing to say about passes.
    """

    name = models.CharField("name", max_length=100, help_text="Shown as the decider: “approved by policy <name>”.")
    team = models.ForeignKey(
        "portal.Team",
        verbose_name="team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="approval_policies",
        help_text="Empty: the global default, tried after the team's own policies.",
    )
    enabled = models.BooleanField("enabled", default=True)
    kinds = models.JSONField("kinds", default=list, validators=[kinds_validate])
    max_vcpus = models.DecimalField(
        "most vCPUs / CPUs",
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    max_memory_mib = models.PositiveIntegerField("most memory (MiB)", null=True, blank=True)
    max_disk_gib = models.PositiveIntegerField("most disk (GiB)", null=True, blank=True)
    images = models.JSONField(
        "images", default=list, blank=True, validators=[allowlist_validate], help_text="Empty: any image."
    )
    networks = models.JSONField(
        "networks",
        default=list,
        blank=True,
        validators=[allowlist_validate],
        help_text="Empty: any network. An ask that names no network joins its team's own and passes.",
    )
    max_lease_days = models.PositiveIntegerField(
        "most lease days", null=True, blank=True, help_text="An ask without a lease end passes."
    )
    max_asks_per_user_per_day = models.PositiveIntegerField(
        "most approvals per person per day",
        null=True,
        blank=True,
        help_text="How many asks of one person this policy approves in 24 hours; further ones wait for an admin.",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        app_label = "portal"
        ordering = ("team__name", "name")
        verbose_name = "auto-approval policy"
        verbose_name_plural = "auto-approval policies"
        constraints = [
            models.UniqueConstraint(fields=("team", "name"), name="policy_unique_team_name"),
            models.UniqueConstraint(fields=("name",), condition=Q(team__isnull=True), name="policy_unique_global_name"),
            models.CheckConstraint(
                condition=Q(max_vcpus__isnull=True) | Q(max_vcpus__gte=0), name="policy_max_vcpus_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.team or 'global'})"

    def size_limits(self) -> dict[str, Decimal | int]:
        """The caps set on this policy, by quota amount (``Amounts`` field); an empty cap is absent."""
        limits = {amount: getattr(self, field) for amount, field in SIZE_LIMIT_FIELDS.items()}
        return {amount: value for amount, value in limits.items() if value is not None}

    def oversized(self, demand: Amounts) -> list[str]:
        """The amounts of ``demand`` above this policy's caps."""
        return [amount for amount, cap in self.size_limits().items() if demand.get(amount) > cap]
