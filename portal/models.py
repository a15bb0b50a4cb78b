"""The shared domain: teams and their members, quotas, requests, jobs and the audit trail."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from portal.choices import (
    ACTIVE_REQUEST_STATES,
    FINISHED_JOB_STATES,
    AuditResult,
    ConsoleKind,
    JobState,
    RequestState,
    Role,
)
from portal.kinds import (
    job_action_label,
    job_action_validate,
    kind_label,
    kind_validate,
    request_sizes_text,
    resource_url,
)

# Models of the base's subpackages belong to this app: importing them here registers them.
from portal.leases.models import LeasePolicy  # noqa: F401
from portal.notifications.models import EmailOptOut, Notification  # noqa: F401


class Team(models.Model):
    """A group of people who share resources and a quota. Every VM and container belongs to one."""

    name = models.CharField("name", max_length=100, unique=True)
    slug = models.SlugField("slug", max_length=50, unique=True, help_text="Short name used in resource names on hosts.")
    description = models.TextField("description", blank=True)
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "team"

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in a team. The role decides what the user may do with the team's resources."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="user", on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, verbose_name="team", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("role", max_length=20, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ("team__name", "user__username")
        constraints = [
            models.UniqueConstraint(fields=("user", "team"), name="membership_unique_user_team"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"


class Quota(models.Model):
    """The most a team may hold at once. Usage is always counted from rows, never stored here."""

    team = models.OneToOneField(Team, verbose_name="team", on_delete=models.CASCADE, related_name="quota")
    vcpus = models.DecimalField(
        "vCPUs", max_digits=8, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    memory_mib = models.PositiveIntegerField("memory (MiB)", default=0)
    disk_gib = models.PositiveIntegerField("disk (GiB)", default=0)
    vm_count = models.PositiveIntegerField("virtual machines", default=0)
    container_count = models.PositiveIntegerField("containers", default=0)
    network_count = models.PositiveIntegerField("networks", default=0)
    # Internal snapshots of a running VM keep its RAM; unlimited, they fill the host's pool for everyone.
    snapshot_count = models.PositiveIntegerField("snapshots", default=10)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(vcpus__gte=0), name="quota_vcpus_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Quota of {self.team}"


class ResourceRequest(models.Model):
    """Someone's ask for a resource, waiting for, or past, an admin's decision.

    The amounts asked for are columns (not only inside ``spec``) so that quota
    usage is one aggregate query. ``spec`` holds the kind-specific rest (image,
    command...), validated by the kind's form before it gets here.
    """

    team = models.ForeignKey(Team, verbose_name="team", on_delete=models.PROTECT, related_name="requests")
    kind = models.CharField(
        "kind", max_length=20, validators=[kind_validate], help_text="A kind registered by an app (portal.kinds)."
    )
    name = models.CharField("name", max_length=63)
    spec = models.JSONField("specification", default=dict, blank=True)
    vcpus = models.DecimalField(
        "vCPUs", max_digits=8, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    memory_mib = models.PositiveIntegerField("memory (MiB)", default=0)
    disk_gib = models.PositiveIntegerField("disk (GiB)", default=0)
    justification = models.TextField("justification", max_length=2000)
    #: The lease asked for (copied to the resource at approval); for a lease extension, the new end.
    lease_ends_at = models.DateTimeField("lease ends", null=True, blank=True)
    state = models.CharField(
        "state", max_length=20, choices=RequestState.choices, default=RequestState.PENDING, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="requested by",
        on_delete=models.PROTECT,
        related_name="resource_requests",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="decided by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decided_requests",
    )
    decision_reason = models.TextField("decision reason", blank=True)
    approval_policy = models.ForeignKey(
        "portal.AutoApprovalPolicy",
        verbose_name="approved by policy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="approved_requests",
        help_text="The policy that approved this ask at submission; empty when a person decided.",
    )
    failure_reason = models.TextField("failure reason", blank=True)
    created_at = models.DateTimeField("submitted", auto_now_add=True)
    decided_at = models.DateTimeField("decided", null=True, blank=True)
    finished_at = models.DateTimeField("finished", null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "resource request"
        permissions = [("decide_resourcerequest", "Can approve or reject resource requests")]
        indexes = [models.Index(fields=("team", "kind", "state"), name="request_team_kind_state")]
        constraints = [
            models.CheckConstraint(condition=Q(vcpus__gte=0), name="request_vcpus_not_negative"),
            models.CheckConstraint(condition=Q(state__in=RequestState.values), name="request_state_valid"),
            # Two live asks of one team for the same name would fight over it on the host.
            models.UniqueConstraint(
                fields=("team", "kind", "name"),
                condition=Q(state__in=ACTIVE_REQUEST_STATES),
                name="request_unique_active_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} {self.name} for {self.team}"

    @property
    def kind_label(self) -> str:
        """How people call the kind asked for ("Virtual machine")."""
        return kind_label(self.kind)

    @property
    def resource_url(self) -> str:
        """The page of the resource this request made, or "" while there is none."""
        return resource_url(self)

    @property
    def sizes_text(self) -> str:
        """The sizes asked for, as people read them: "1 vCPU · 64 MiB · 1 GiB", "0.5 CPU · 64 MiB"."""
        return request_sizes_text(self)


class Job(models.Model):
    """A slow or remote operation done by a worker. The browser reads this row; it never waits on a host."""

    id = models.BigAutoField(primary_key=True)
    action = models.CharField(
        "action",
        max_length=40,
        validators=[job_action_validate],
        help_text="A job action registered by an app (portal.kinds); free text so a new kind needs no migration here.",
    )
    state = models.CharField("state", max_length=20, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField("progress (%)", default=0, validators=[MaxValueValidator(100)])
    params = models.JSONField("parameters", default=dict, blank=True, help_text="What the action was asked to do.")
    log = models.JSONField("step log", default=list, blank=True)
    error = models.TextField("error", blank=True)
    traceback = models.TextField(
        "traceback", blank=True, help_text="Where a failure came from, for administrators; never shown to users."
    )
    team = models.ForeignKey(
        Team, verbose_name="team", on_delete=models.CASCADE, null=True, blank=True, related_name="jobs"
    )
    request = models.ForeignKey(
        ResourceRequest,
        verbose_name="request",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
    )
    target_type = models.ForeignKey(
        ContentType, verbose_name="target type", on_delete=models.CASCADE, null=True, blank=True
    )
    target_id = models.CharField("target id", max_length=64, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="requested by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
    )
    queue = models.CharField(
        "queue", max_length=150, blank=True, help_text="The Celery queue the job went to; empty for the default queue."
    )
    celery_task_id = models.UUIDField("Celery task id", default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField("created", auto_now_add=True)
    started_at = models.DateTimeField("started", null=True, blank=True)
    finished_at = models.DateTimeField("finished", null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("target_type", "target_id"), name="job_target")]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_at_most_100"),
            models.CheckConstraint(condition=Q(state__in=JobState.values), name="job_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.action_label} #{self.pk}"

    @property
    def action_label(self) -> str:
        """How people call what the job does ("Start")."""
        return job_action_label(self.action)

    @property
    def steps(self) -> list[dict[str, object]]:
        """The step log with its times as datetimes, for templates to format (the row keeps ISO text)."""
        return [{**step, "time": parse_datetime(str(step.get("time", "")))} for step in self.log]

    @property
    def is_finished(self) -> bool:
        """True once the job succeeded or failed; pages stop polling then."""
        return self.state in FINISHED_JOB_STATES


class AuditEvent(models.Model):
    """Who did what to which object, and how it ended. Written by services, never edited."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="actor",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_label = models.CharField(
        "acted as",
        max_length=120,
        blank=True,
        help_text="Who acted when no person did, e.g. “policy small-vms” for an approval by a policy.",
    )
    action = models.CharField("action", max_length=60, db_index=True)
    team = models.ForeignKey(
        Team, verbose_name="team", on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    target_type = models.ForeignKey(
        ContentType, verbose_name="target type", on_delete=models.SET_NULL, null=True, blank=True
    )
    target_id = models.CharField("target id", max_length=64, blank=True)
    target_repr = models.CharField("target", max_length=200, blank=True)
    result = models.CharField("result", max_length=20, choices=AuditResult.choices, default=AuditResult.SUCCESS)
    detail = models.TextField("detail", blank=True)
    created_at = models.DateTimeField("time", auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "audit event"

    def __str__(self) -> str:
        return f"{self.actor_shown} {self.action} {self.target_repr}: {self.result}"

    @property
    def actor_shown(self) -> str:
        """Who acted, as pages show it: the person, else what acted for them ("policy small-vms"), else the system."""
        if self.actor_id is not None:
            return str(self.actor)
        return self.actor_label or "system"


class ConsoleTicket(models.Model):
    """Leave to open one console websocket: one user, one resource, one kind of console, once, within seconds.

    Only a SHA-256 digest of the ticket is stored, so a leaked table opens nothing. The
    ticket is the websocket's second key besides the session cookie: a page of another
    site can make the browser send the cookie, but it cannot read a ticket.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="user", on_delete=models.CASCADE, related_name="console_tickets"
    )
    target_type = models.ForeignKey(ContentType, verbose_name="resource type", on_delete=models.CASCADE)
    target_id = models.CharField("resource id", max_length=64)
    target = GenericForeignKey("target_type", "target_id")
    kind = models.CharField("console", max_length=20, choices=ConsoleKind.choices)
    digest = models.CharField("digest", max_length=64, unique=True, help_text="SHA-256 of the ticket, in hex.")
    take_over = models.BooleanField(
        "take over", default=False, help_text="Whether the console is taken from a session that holds it."
    )
    created_at = models.DateTimeField("issued", auto_now_add=True)
    expires_at = models.DateTimeField("expires", db_index=True)
    used_at = models.DateTimeField("used", null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "console ticket"
        indexes = [models.Index(fields=("target_type", "target_id", "kind"), name="console_ticket_target")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ConsoleKind.values), name="console_ticket_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ticket of {self.user} ({self.target_type_id}:{self.target_id})"


class SshKey(models.Model):
    """An SSH public key a user keeps on their profile, to give VMs that understand cloud-init at first boot.

    Only the public half is ever stored: ``portal.ssh_keys`` refuses anything else
    before a row is made. The key text is copied into a VM request when asked for,
    so deleting a key later changes no request.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="user", on_delete=models.CASCADE, related_name="ssh_keys"
    )
    name = models.CharField("name", max_length=100)
    key_type = models.CharField("type", max_length=40)
    public_key = models.TextField("public key", help_text="One OpenSSH line: type, base64 blob, comment.")
    fingerprint = models.CharField("fingerprint (SHA256)", max_length=60)
    created_at = models.DateTimeField("added", auto_now_add=True)

    class Meta:
        ordering = ("name", "id")
        verbose_name = "SSH key"
        constraints = [models.UniqueConstraint(fields=("user", "fingerprint"), name="sshkey_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.fingerprint})"


# Auto-approval policies live in a package of their own and belong to this app.
from portal.policies.models import AutoApprovalPolicy as AutoApprovalPolicy  # noqa: E402
