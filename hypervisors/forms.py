"""The form people fill in to ask for a VM."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User

from hypervisors.models import MIN_VM_MEMORY_MIB, Image
from hypervisors.selectors import images_offered
from portal.choices import Role
from portal.forms import ResourceNameField
from portal.models import Team
from portal.selectors import teams_for

#: Upper bounds a single VM may ask for; a typo of three extra zeros is an error, not a quota problem.
MAX_VCPUS = 64
MAX_MEMORY_MIB = 1024 * 1024
MAX_DISK_GIB = 64 * 1024


class VMRequestForm(forms.Form):
    """Ask for a VM. Teams offered are those where the user may ask (member or team admin)."""

    name = ResourceNameField(help_text="A DNS label, unique in the team: lowercase letters, digits, hyphens.")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    image = forms.ModelChoiceField(queryset=Image.objects.none(), empty_label=None)
    vcpus = forms.IntegerField(label="vCPUs", min_value=1, max_value=MAX_VCPUS, initial=1)
    memory_mib = forms.IntegerField(
        label="Memory (MiB)", min_value=MIN_VM_MEMORY_MIB, max_value=MAX_MEMORY_MIB, initial=128
    )
    disk_gib = forms.IntegerField(label="Disk (GiB)", min_value=1, max_value=MAX_DISK_GIB, initial=1)
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, help_text="What is it for? Admins read this."
    )

    def __init__(self, *args: Any, user: User | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_for(user, Role.MEMBER)  # type: ignore[attr-defined]
        self.fields["image"].queryset = images_offered()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        image: Image | None = cleaned.get("image")
        if image is not None:
            if cleaned.get("memory_mib") is not None and cleaned["memory_mib"] < image.min_memory_mib:
                self.add_error("memory_mib", f"{image.name} needs at least {image.min_memory_mib} MiB.")
            if cleaned.get("disk_gib") is not None and cleaned["disk_gib"] < image.min_disk_gib:
                self.add_error("disk_gib", f"{image.name} needs at least {image.min_disk_gib} GiB.")
        return cleaned
