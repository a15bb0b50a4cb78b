"""Choice classes of the containers app."""

from django.db import models


class ContainerState(models.TextChoices):
    """What the portal knows of a container. ``creating`` until its provisioning job ends."""

    CREATING = "creating", "Creating"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    RESTARTING = "restarting", "Restarting"
    EXITED = "exited", "Stopped"
    DEAD = "dead", "Dead"
    MISSING = "missing", "Missing on engine"
    UNKNOWN = "unknown", "Unknown"


class RestartPolicy(models.TextChoices):
    """When the engine restarts a container by itself."""

    NO = "no", "Never"
    ON_FAILURE = "on-failure", "On failure"
    UNLESS_STOPPED = "unless-stopped", "Unless stopped"
    ALWAYS = "always", "Always"


class PortProtocol(models.TextChoices):
    TCP = "tcp", "TCP"
    UDP = "udp", "UDP"


class ImageLoadMode(models.TextChoices):
    """How an uploaded tar becomes an image."""

    LOAD = "load", "Load (a tar made by docker save)"
    IMPORT = "import", "Import (a root filesystem tar)"


class DockerNetworkState(models.TextChoices):
    """What the portal knows of a container network."""

    BUILDING = "building", "Building"
    ACTIVE = "active", "Active"
    MISSING = "missing", "Missing on engine"


class ContainerKind(models.TextChoices):
    """The kinds of resource this app adds to the request pipeline (values stored in ``ResourceRequest.kind``)."""

    CONTAINER = "container", "Container"
    CONTAINER_NETWORK = "container_network", "Container network"


class ContainerJobAction(models.TextChoices):
    """What a background job does to a container (joining and leaving networks included)."""

    CONTAINER_PROVISION = "container_provision", "Create container"
    CONTAINER_START = "container_start", "Start container"
    CONTAINER_STOP = "container_stop", "Stop container"
    CONTAINER_RESTART = "container_restart", "Restart container"
    CONTAINER_PAUSE = "container_pause", "Pause container"
    CONTAINER_UNPAUSE = "container_unpause", "Unpause container"
    CONTAINER_REMOVE = "container_remove", "Remove container"
    CONTAINER_NETWORK_CONNECT = "container_network_connect", "Connect container"
    CONTAINER_NETWORK_DISCONNECT = "container_network_disconnect", "Disconnect container"


class ContainerNetworkJobAction(models.TextChoices):
    """What a background job does to a container network."""

    CONTAINER_NETWORK_PROVISION = "container_network_provision", "Create container network"
    CONTAINER_NETWORK_DELETE = "container_network_delete", "Delete container network"


class EngineJobAction(models.TextChoices):
    """What a background job does to a Docker engine as a whole."""

    IMAGE_LOAD = "image_load", "Load image"
    ENGINE_PROBE = "engine_probe", "Probe engine"
    ENGINE_RECONCILE = "engine_reconcile", "Reconcile engine"
