"""The lease policy of a team for one kind of resource (imported by ``portal.models``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from portal.kinds import kind_handler, kind_label, kind_validate

#: Grace days between a lease's end (the resource stopped) and its deletion, unless a policy says otherwise.
DEFAULT_GRACE_DAYS = 7


class LeasePolicy(models.Model):
    """How long a team's resources of one kind are lent: the default, the longest, and the grace before deletion.

    Empty days mean "none": no default (an ask carries no lease unless the person picks a date), or
    no maximum (any date, or no lease at all). A team and kind without a policy has neither.
    """

    team = models.ForeignKey(
        "portal.Team", verbose_name="team", on_delete=models.CASCADE, related_name="lease_policies"
    )
    kind = models.CharField(
        "kind", max_length=20, validators=[kind_validate], help_text="A kind registered by an app (portal.kinds)."
    )
    default_days = models.PositiveIntegerField(
        "default lease (days)", null=True, blank=True, help_text="Prefilled in the ask. Empty: no lease by default."
    )
    max_days = models.PositiveIntegerField(
        "longest lease (days)", null=True, blank=True, help_text="Empty: no maximum, and no lease at all is allowed."
    )
    grace_days = models.PositiveIntegerField(
        "grace (days)", default=DEFAULT_GRACE_DAYS, help_text="Days a stopped resource is kept before it is deleted."
    )

    class Meta:
        verbose_name = "lease policy"
        verbose_name_plural = "lease policies"
        constraints = [
            models.UniqueConstraint(fields=("team", "kind"), name="lease_policy_unique_team_kind"),
            models.CheckConstraint(
                condition=Q(default_days__isnull=True)
                | Q(max_days__isnull=True)
                | Q(default_days__lte=models.F("max_days")),
                name="lease_policy_default_within_max",
            ),
            models.CheckConstraint(condition=~Q(default_days=0) & ~Q(max_days=0), name="lease_policy_days_positive"),
        ]

    def __str__(self) -> str:
        return f"Leases of {kind_label(self.kind)} for {self.team}"

    def clean(self) -> None:
        if self.kind and not kind_handler_has_leases(self.kind):
            raise ValidationError({"kind": f"{kind_label(self.kind)} resources have no leases."})
        if 0 in (self.default_days, self.max_days):
            raise ValidationError("Use at least one day, or leave the field empty for none.")
        if self.default_days is not None and self.max_days is not None and self.default_days > self.max_days:
            raise ValidationError({"default_days": "The default cannot be longer than the maximum."})


def kind_handler_has_leases(kind: str) -> bool:
    """Whether ``kind`` is registered and its resources can carry a lease."""
    try:
        return kind_handler(kind).has_leases
    except LookupError:
        return False
