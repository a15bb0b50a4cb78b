"""Choice classes of the shared domain; no magic strings elsewhere."""

from django.db import models


class Role(models.TextChoices):
    """A member's role in a team, from least to most privileged."""

    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    TEAM_ADMIN = "team_admin", "Team admin"


#: Privilege order of the roles, for "at least this role" checks.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.TEAM_ADMIN: 2}


def roles_at_least(minimum: str) -> list[str]:
    """The roles that are ``minimum`` or above (for queries); ``portal.permissions.role_at_least`` checks one."""
    return [role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[Role(minimum)]]


class RequestState(models.TextChoices):
    """Life of a request: pending -> approved | rejected | cancelled -> provisioning -> fulfilled | failed."""

    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    PROVISIONING = "provisioning", "Provisioning"
    FULFILLED = "fulfilled", "Fulfilled"
    FAILED = "failed", "Failed"


#: Requests in these states hold quota: they are counted as usage.
ACTIVE_REQUEST_STATES = (RequestState.PENDING, RequestState.APPROVED, RequestState.PROVISIONING)
#: Requests in these states were approved and not yet finished.
COMMITTED_REQUEST_STATES = (RequestState.APPROVED, RequestState.PROVISIONING)


class JobState(models.TextChoices):
    """Life of a background job."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


FINISHED_JOB_STATES = (JobState.SUCCEEDED, JobState.FAILED)


class AuditResult(models.TextChoices):
    """Outcome of an audited action."""

    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


class ConsoleKind(models.TextChoices):
    """A way into a running resource from the browser."""

    SERIAL = "serial", "Serial console"
    SHELL = "shell", "Shell"
    GRAPHICAL = "graphical", "Graphical console"


class ConsoleEnd(models.TextChoices):
    """Why a console session ended; the label is what the page tells the person."""

    CLOSED = "closed", "The console was closed."
    IDLE = "idle", "The console was closed after a while without input."
    STOPPED = "stopped", "The machine stopped."
    DELETED = "deleted", "The machine was deleted."
    ROLE_LOST = "role_lost", "You no longer have the role this console needs."
    TAKEN_OVER = "taken_over", "Another session took over this console."
    EXITED = "exited", "The shell exited."
    LOST = "lost", "The connection to the host was lost."
