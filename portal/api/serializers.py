"""How the shared domain's rows read in the API. Output only: writes go through forms and services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.amounts import RESOURCES
from portal.api.asks import amount_json
from portal.api.models import ApiToken
from portal.models import AuditEvent, Job, ResourceRequest, Team
from portal.quotas import TeamUsage


class UsageSerializer(serializers.Serializer):
    """One quota resource of a team: the limit, what live resources and approved asks use, pending asks, free."""

    resource = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    limit = serializers.FloatField()
    used = serializers.FloatField()
    pending = serializers.FloatField()
    free = serializers.FloatField()


def usage_rows(usage: TeamUsage) -> list[dict[str, Any]]:
    """A team's usage, one row per quota resource (used counts live resources and approved asks)."""
    return [
        {
            "resource": r.field,
            "label": r.label,
            "limit": amount_json(usage.limits.get(r.field)),
            "used": amount_json(usage.committed.get(r.field)),
            "pending": amount_json(usage.pending.get(r.field)),
            "free": amount_json(usage.free.get(r.field)),
        }
        for r in RESOURCES
    ]


class TeamSerializer(serializers.ModelSerializer[Team]):
    role = serializers.SerializerMethodField()
    usage = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ("id", "name", "slug", "description", "role", "usage")

    def get_role(self, team: Team) -> str | None:
        return self.context.get("roles", {}).get(team.pk)

    @extend_schema_field(UsageSerializer(many=True))
    def get_usage(self, team: Team) -> list[dict[str, Any]]:
        usage = self.context.get("usage", {}).get(team.pk)
        return usage_rows(usage) if usage is not None else []


class RequestSerializer(serializers.ModelSerializer[ResourceRequest]):
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    decided_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    approval_policy: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True, help_text="The policy that approved the ask at submission."
    )
    spec = serializers.SerializerMethodField()

    class Meta:
        model = ResourceRequest
        fields = (
            "id", "kind", "name", "team", "state", "vcpus", "memory_mib", "disk_gib", "spec", "justification",
            "requested_by", "decided_by", "approval_policy", "decision_reason", "failure_reason", "created_at",
            "decided_at", "finished_at", "lease_ends_at",
        )  # fmt: skip

    def get_spec(self, request: ResourceRequest) -> dict[str, Any]:
        # Sealed values (container environment) stay sealed: their names are shown, never the values.
        # A VM's user-data may hold passwords too: only its size is shown.
        spec = dict(request.spec)
        if isinstance(spec.get("environment"), dict):
            spec["environment"] = sorted(spec["environment"])
        if spec.get("user_data"):
            spec["user_data"] = f"({len(str(spec['user_data']).encode())} bytes, not shown)"
        return spec


class JobSerializer(serializers.ModelSerializer[Job]):
    """A job and its step log; the traceback is for administrators and never leaves the admin."""

    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    action_label = serializers.CharField(read_only=True)
    target_type: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="model", read_only=True, allow_null=True
    )

    class Meta:
        model = Job
        fields = (
            "id", "action", "action_label", "state", "progress", "params", "log", "error", "team", "request",
            "target_type", "target_id", "requested_by", "created_at", "started_at", "finished_at",
        )  # fmt: skip


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    target_type: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="model", read_only=True, allow_null=True
    )

    class Meta:
        model = AuditEvent
        fields = ("id", "actor", "actor_label", "action", "team", "target_type", "target_id", "target_repr", "result",
                  "detail", "created_at")  # fmt: skip


class TokenSerializer(serializers.ModelSerializer[ApiToken]):
    teams: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    is_usable = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ("id", "name", "prefix", "read_only", "teams", "expires_at", "revoked_at", "created_at",
                  "last_used_at", "last_used_address", "is_usable")  # fmt: skip


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Required: the person who asked reads it.")


class ApproveSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True)


class PreviewSerializer(serializers.Serializer):
    """What an ask would leave of the team's quota; nothing is stored."""

    fits = serializers.BooleanField()
    team = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]
    shortfalls = serializers.ListField(child=serializers.CharField())
    quota = serializers.ListField(child=serializers.DictField())


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]
