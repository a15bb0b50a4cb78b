"""factory_boy factories for every model, one module per app; import them from here."""

from tests.factories.containers import (
    ContainerFactory,
    ContainerImageFactory,
    ContainerStatSampleFactory,
    DockerHostFactory,
    DockerNetworkFactory,
)
from tests.factories.hypervisors import (
    AddressPoolFactory,
    HostFactory,
    HostStatSampleFactory,
    ImageFactory,
    SnapshotFactory,
    UnmanagedDomainFactory,
    VirtualMachineFactory,
    VirtualNetworkFactory,
    VMInterfaceFactory,
    VMStatSampleFactory,
)
from tests.factories.portal import (
    AuditEventFactory,
    AutoApprovalPolicyFactory,
    JobFactory,
    MembershipFactory,
    QuotaFactory,
    ResourceRequestFactory,
    TeamFactory,
    UserFactory,
)

__all__ = [
    "AddressPoolFactory",
    "AuditEventFactory",
    "AutoApprovalPolicyFactory",
    "ContainerFactory",
    "ContainerImageFactory",
    "ContainerStatSampleFactory",
    "DockerHostFactory",
    "DockerNetworkFactory",
    "HostFactory",
    "HostStatSampleFactory",
    "ImageFactory",
    "JobFactory",
    "MembershipFactory",
    "QuotaFactory",
    "ResourceRequestFactory",
    "SnapshotFactory",
    "TeamFactory",
    "UnmanagedDomainFactory",
    "UserFactory",
    "VMInterfaceFactory",
    "VMStatSampleFactory",
    "VirtualMachineFactory",
    "VirtualNetworkFactory",
]
