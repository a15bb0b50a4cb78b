"""Reads of VMs and images, always scoped to the user's teams."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from hypervisors.models import Image, VirtualMachine, VMInterface, VMStatSample
from hypervisors.vms.actions import ACTIONS, BUTTONS, VMAction
from portal.actions import actions_allowed
from portal.models import Job

AnyUser = User | AnonymousUser


def vms_for(user: AnyUser) -> QuerySet[VirtualMachine]:
    """VMs of the user's teams, with what list pages show."""
    return VirtualMachine.objects.for_user(user).select_related("team", "host", "image", "owner")


def vms_with_addresses(queryset: QuerySet[VirtualMachine]) -> QuerySet[VirtualMachine]:
    """The VMs with their cards' leased addresses (as the reconcile stored them), in one more query per page."""
    cards = VMInterface.objects.only("vm_id", "ip_addresses").order_by("id")
    return queryset.prefetch_related(Prefetch("interfaces", queryset=cards, to_attr="address_cards"))


def vm_get(user: AnyUser, vm_uuid: str) -> VirtualMachine:
    """One VM of the user's teams, or 404."""
    return get_object_or_404(vms_for(user), uuid=vm_uuid)


def vm_latest_job(vm: VirtualMachine) -> Job | None:
    """The newest job that targets this VM."""
    content_type = ContentType.objects.get_for_model(VirtualMachine)
    return Job.objects.filter(target_type=content_type, target_id=str(vm.pk)).order_by("-created_at", "-id").first()


def images_offered() -> QuerySet[Image]:
    """Images people may pick for a new VM."""
    return Image.objects.filter(is_active=True)


def vm_actions_for(
    role: str | None, vm: VirtualMachine, busy: bool, user_id: int | None = None, slugs: tuple[str, ...] = BUTTONS
) -> list[VMAction]:
    """The actions among ``slugs`` to offer on a VM page to user ``user_id`` (the services check everything again)."""
    return actions_allowed(
        [ACTIONS[slug] for slug in slugs], role=role, state=vm.state, busy=busy, user_id=user_id, owner_id=vm.owner_id
    )


def vm_samples_since(vm: VirtualMachine, since: datetime) -> list[VMStatSample]:
    """The VM's load samples from ``since`` on, oldest first (one before it, to compute the first rate)."""
    return list(vm.stat_samples.filter(taken_at__gte=since - timedelta(minutes=5)).order_by("taken_at"))
