"""Choice classes of the shared domain; no magic strings elsewhere."""

from django.db import models


class Role(models.TextChoices):
    """A member's role in a team, from least to most privileged."""

    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    TEAM_ADMIN = "team_admin", "Team admin"


#: Privilege order of the roles, for "at least this role" checks.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.TEAM_ADMIN: 2}


class ResourceKind(models.TextChoices):
    """What a request asks for."""

    VM = "vm", "Virtual machine"
    CONTAINER = "container", "Container"
    NETWORK = "network", "VM network"
    CONTAINER_NETWORK = "container_network", "Container network"


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


class JobAction(models.TextChoices):
    """What a background job does."""

    VM_PROVISION = "vm_provision", "Provision virtual machine"
    VM_START = "vm_start", "Start"
    VM_SHUTDOWN = "vm_shutdown", "Shut down"
    VM_POWER_OFF = "vm_power_off", "Force off"
    VM_REBOOT = "vm_reboot", "Reboot"
    VM_RESET = "vm_reset", "Reset"
    VM_SUSPEND = "vm_suspend", "Suspend"
    VM_RESUME = "vm_resume", "Resume"
    VM_DELETE = "vm_delete", "Delete"
    VM_RESIZE = "vm_resize", "Resize"
    VM_SNAPSHOT_CREATE = "vm_snapshot_create", "Take snapshot"
    VM_SNAPSHOT_REVERT = "vm_snapshot_revert", "Revert to snapshot"
    VM_SNAPSHOT_DELETE = "vm_snapshot_delete", "Delete snapshot"
    HOST_PROBE = "host_probe", "Probe host"
    CONTAINER_PROVISION = "container_provision", "Create container"
    CONTAINER_START = "container_start", "Start container"
    CONTAINER_STOP = "container_stop", "Stop container"
    CONTAINER_RESTART = "container_restart", "Restart container"
    CONTAINER_PAUSE = "container_pause", "Pause container"
    CONTAINER_UNPAUSE = "container_unpause", "Unpause container"
    CONTAINER_REMOVE = "container_remove", "Remove container"
    IMAGE_LOAD = "image_load", "Load image"
    NETWORK_PROVISION = "network_provision", "Create network"
    NETWORK_START = "network_start", "Start network"
    NETWORK_STOP = "network_stop", "Stop network"
    NETWORK_DELETE = "network_delete", "Delete network"
    VM_INTERFACE_ATTACH = "vm_interface_attach", "Attach interface"
    VM_INTERFACE_DETACH = "vm_interface_detach", "Detach interface"
    CONTAINER_NETWORK_PROVISION = "container_network_provision", "Create container network"
    CONTAINER_NETWORK_CONNECT = "container_network_connect", "Connect container"
    CONTAINER_NETWORK_DISCONNECT = "container_network_disconnect", "Disconnect container"
    CONTAINER_NETWORK_DELETE = "container_network_delete", "Delete container network"


class AuditResult(models.TextChoices):
    """Outcome of an audited action."""

    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"
