"""App configuration; registers VMs as a kind of resource in the request pipeline."""

from django.apps import AppConfig


class HypervisorsConfig(AppConfig):
    """libvirt hosts, images and virtual machines."""

    name = "hypervisors"
    verbose_name = "Hypervisors"

    def ready(self) -> None:
        from hypervisors.kind import VM_KIND
        from hypervisors.network_kind import NETWORK_KIND
        from portal.kinds import kind_register

        kind_register(VM_KIND)
        kind_register(NETWORK_KIND)
