"""The form people fill in to ask for a VM."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from hypervisors.choices import HypervisorKind, NetworkState, VMState
from hypervisors.models import MIN_VM_MEMORY_MIB, Host, Image, VirtualMachine, VirtualNetwork
from hypervisors.vms.cloud_init import user_data_check
from hypervisors.vms.selectors import images_offered
from portal.forms import ResourceNameField, ResourceRequestForm, RowsField
from portal.models import SshKey, Team
from portal.selectors import teams_for
from portal.ssh_keys import ssh_keys_of
from portal.widgets import Select

#: Upper bounds a single VM may ask for; a typo of three extra zeros is an error, not a quota problem.
MAX_VCPUS = 64
MAX_MEMORY_MIB = 1024 * 1024
MAX_DISK_GIB = 64 * 1024


class ImageSelect(forms.Select):
    """The image select; an image that understands cloud-init says so on its option (``data-cloud-init``).

    ``static/portal/first-boot.js`` shows the SSH key and user-data fields only while such an image
    is chosen; the form refuses them for any other image whatever the browser sends.
    """

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        image = getattr(value, "instance", None)
        if isinstance(image, Image) and image.cloud_init:
            option["attrs"]["data-cloud-init"] = True
        return option


class VMRequestForm(ResourceRequestForm):
    """Ask for a VM. Teams offered are those where the user may ask (member or team admin)."""

    kind = HypervisorKind.VM

    image = forms.ModelChoiceField(queryset=Image.objects.none(), empty_label=None, widget=ImageSelect)
    vcpus = forms.IntegerField(label="vCPUs", min_value=1, max_value=MAX_VCPUS, initial=1)
    memory_mib = forms.IntegerField(
        label="Memory (MiB)", min_value=MIN_VM_MEMORY_MIB, max_value=MAX_MEMORY_MIB, initial=128
    )
    disk_gib = forms.IntegerField(label="Disk (GiB)", min_value=1, max_value=MAX_DISK_GIB, initial=1)
    networks = RowsField(
        queryset=VirtualNetwork.objects.none(),
        required=False,
        help_text="Shared networks or your team's; empty: your team's own network on the VM's host.",
    )
    ssh_keys = RowsField(
        label="SSH keys",
        queryset=SshKey.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"data-cloud-init-only": True}),
        help_text="Keys from your profile, put in root's authorized_keys at first boot (images with cloud-init only).",
    )
    user_data = forms.CharField(
        label="User-data (cloud-config)",
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "spellcheck": "false",
                "placeholder": "#cloud-config\nruncmd:\n  - ...",
                "data-cloud-init-only": True,
            }
        ),
        help_text="Optional cloud-config YAML (a mapping, at most 16 KiB), for images with cloud-init only.",
    )
    field_order = (
        "name", "team", "image", "vcpus", "memory_mib", "disk_gib", "networks", "ssh_keys", "user_data",
        "justification",
    )  # fmt: skip
    #: Fields only an image that understands cloud-init can use.
    CLOUD_INIT_FIELDS = ("ssh_keys", "user_data")

    def __init__(self, *args: Any, user: User | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["image"].queryset = images_offered()  # type: ignore[attr-defined]
        self.fields["ssh_keys"].queryset = ssh_keys_of(user)  # type: ignore[attr-defined]
        teams = self.fields["team"].queryset  # type: ignore[attr-defined]
        usable = Q(team__isnull=True) | Q(team__in=teams)
        self.fields["networks"].queryset = (  # type: ignore[attr-defined]
            VirtualNetwork.objects.filter(usable).exclude(state=NetworkState.BUILDING).select_related("team", "host")
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        image: Image | None = cleaned.get("image")
        if image is not None:
            if cleaned.get("memory_mib") is not None and cleaned["memory_mib"] < image.min_memory_mib:
                self.add_error("memory_mib", f"{image.name} needs at least {image.min_memory_mib} MiB.")
            if cleaned.get("disk_gib") is not None and cleaned["disk_gib"] < image.min_disk_gib:
                self.add_error("disk_gib", f"{image.name} needs at least {image.min_disk_gib} GiB.")
        if image is not None and not image.cloud_init:
            for name in self.CLOUD_INIT_FIELDS:
                if cleaned.get(name):
                    self.add_error(
                        name, f"{image.name} does not understand cloud-init: it takes no SSH keys or user-data."
                    )
        networks, team = cleaned.get("networks") or [], cleaned.get("team")
        foreign = [n for n in networks if n.team_id is not None and team is not None and n.team_id != team.pk]
        if foreign:
            self.add_error("networks", f"{foreign[0]} belongs to another team.")
        if len({n.host_id for n in networks}) > 1:
            self.add_error("networks", "Pick networks of one host: a VM runs on one host.")
        return cleaned

    def clean_user_data(self) -> str:
        return user_data_check(self.cleaned_data.get("user_data") or "")

    def sizes(self, data: dict[str, Any]) -> tuple[Decimal | int, int, int]:
        return data.get("vcpus") or 0, data.get("memory_mib") or 0, data.get("disk_gib") or 0

    def spec(self, data: dict[str, Any]) -> dict[str, Any]:
        networks = data.get("networks") or []
        spec = {"image_id": data["image"].pk, "image": data["image"].name, "network_ids": [n.pk for n in networks]}
        if data["image"].cloud_init:
            # The key texts are copied now: deleting a key later changes no request and no VM built from it.
            spec["ssh_keys"] = [key.public_key for key in data.get("ssh_keys") or []]
            spec["ssh_key_fingerprints"] = [key.fingerprint for key in data.get("ssh_keys") or []]
            spec["user_data"] = data.get("user_data") or ""
        return spec


class VMResizeForm(forms.Form):
    """New sizes for an existing VM, within the same limits as asking for one (its image's minimum included)."""

    vcpus = forms.IntegerField(label="vCPUs", min_value=1, max_value=MAX_VCPUS)
    memory_mib = forms.IntegerField(label="Memory (MiB)", min_value=MIN_VM_MEMORY_MIB, max_value=MAX_MEMORY_MIB)

    def __init__(self, *args: Any, vm: VirtualMachine | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.image = vm.image if vm is not None else None
        if self.image is not None:
            self.fields["memory_mib"].min_value = max(MIN_VM_MEMORY_MIB, self.image.min_memory_mib)  # type: ignore[attr-defined]
            self.fields["memory_mib"].widget.attrs["min"] = self.fields["memory_mib"].min_value  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        memory = cleaned.get("memory_mib")
        if self.image is not None and memory is not None and memory < self.image.min_memory_mib:
            self.add_error("memory_mib", f"{self.image.name} needs at least {self.image.min_memory_mib} MiB.")
        return cleaned


class SnapshotForm(forms.Form):
    """The name of a snapshot to take, revert to or delete."""

    name = ResourceNameField(label="Snapshot name")


class VMFilterForm(forms.Form):
    """Filters and order of the VM list; anything unknown is ignored, never an error page."""

    SORTS = {
        # Each ends with the primary key, so pages never repeat or skip rows on ties.
        "name": ("name", "team__name", "pk"),
        "-name": ("-name", "team__name", "pk"),
        "team": ("team__name", "name", "pk"),
        "state": ("state", "name", "pk"),
        "host": ("host_name", "name", "pk"),  # the copy on the row has an index (see VirtualMachine.host_name)
        "memory": ("-memory_mib", "name", "pk"),
        "vcpus": ("-vcpus", "name", "pk"),
        "newest": ("-created_at", "-id"),
    }

    q = forms.CharField(required=False, max_length=63, label="Name contains")
    # The selects write their options in Python (``portal.widgets``): the list renders this form on every load.
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="All teams", widget=Select)
    state = forms.ChoiceField(required=False, widget=Select)
    host = forms.ModelChoiceField(queryset=Host.objects.all(), required=False, empty_label="All hosts", widget=Select)
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in SORTS], widget=Select)

    def __init__(self, *args: Any, user: User | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_for(user)  # type: ignore[attr-defined]
        self.fields["state"].choices = [("", "All states"), *VMState.choices]  # type: ignore[attr-defined]

    def apply(self, queryset: QuerySet[VirtualMachine]) -> QuerySet[VirtualMachine]:
        """The queryset filtered and ordered by the valid parts of the form."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("q"):
            queryset = queryset.filter(name__contains=data["q"].lower())
        if data.get("team"):
            queryset = queryset.filter(team=data["team"])
        if data.get("state"):
            queryset = queryset.filter(state=data["state"])
        if data.get("host"):
            queryset = queryset.filter(host=data["host"])
        return queryset.order_by(*self.ordering())

    def ordering(self) -> tuple[str, ...]:
        """The ``order_by`` of the chosen sort (call after ``apply``)."""
        data = getattr(self, "cleaned_data", {})
        return self.SORTS.get(data.get("sort") or "name", self.SORTS["name"])


class InterfaceForm(forms.Form):
    """The network a VM's card is attached to or detached from."""

    network = forms.ModelChoiceField(queryset=VirtualNetwork.objects.none())

    def __init__(self, *args: Any, networks: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["network"].queryset = networks  # type: ignore[attr-defined]
