"""Form pieces shared by every kind of request."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

from portal.quotas import QuotaExceeded

#: A DNS label: what a resource name must be, so it is usable as a hostname everywhere.
DNS_LABEL = RegexValidator(
    r"\A[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z",
    "Use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
)

#: Where each quota resource's shortfall is reported in a request form.
QUOTA_FIELD_FOR_RESOURCE = {"vcpus": "vcpus", "memory_mib": "memory_mib", "disk_gib": "disk_gib"}


class ResourceNameField(forms.CharField):
    """A resource name: a DNS label."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_length=63, validators=[DNS_LABEL], strip=True, **kwargs)  # type: ignore[arg-type]


def form_add_quota_errors(form: forms.Form, error: QuotaExceeded) -> None:
    """Show each shortfall next to the field it is about (counts go to the top of the form)."""
    for shortfall in error.shortfalls:
        field = QUOTA_FIELD_FOR_RESOURCE.get(shortfall.resource.field)
        form.add_error(field if field in form.fields else None, str(shortfall))
