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
