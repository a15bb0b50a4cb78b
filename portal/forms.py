"""Form pieces shared by every kind of request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from portal.choices import Role
from portal.models import Team
from portal.quotas import QuotaExceeded
from portal.selectors import teams_for
from portal.ssh_keys import PRIVATE_KEY_MESSAGE, looks_private

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
    fields = getattr(form, "QUOTA_FIELDS", QUOTA_FIELD_FOR_RESOURCE)
    for shortfall in error.shortfalls:
        field = fields.get(shortfall.resource.field)
        form.add_error(field if field in form.fields else None, str(shortfall))


class ResourceRequestForm(forms.Form):
    """Base of the forms that ask for a resource: name, team, justification, plus the kind's fields.

    A subclass names its ``kind``, the sizes its fields ask for, and the rest of
    the spec. Fields a subclass does not declare are refused when posted: a form
    is the allowlist of what a user may ask for, and a hand-made POST with more
    (``privileged``, a bind mount...) gets a clear error instead of being ignored.
    """

    kind: str = ""
    #: Posted keys that are not fields but are expected (the CSRF token).
    ALWAYS_ALLOWED = frozenset({"csrfmiddlewaretoken"})

    name = ResourceNameField(help_text="A DNS label, unique in the team: lowercase letters, digits, hyphens.")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, help_text="What is it for? Admins read this."
    )

    def __init__(self, *args: Any, user: User | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["team"].queryset = teams_for(user, Role.MEMBER)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.is_bound:
            unknown = sorted(set(self.data) - set(self.fields) - self.ALWAYS_ALLOWED)
            if unknown:
                raise ValidationError(
                    f"These options cannot be asked for here: {', '.join(unknown)}.", code="unknown_fields"
                )
        return cleaned

    def sizes(self, data: dict[str, Any]) -> tuple[Decimal | int, int, int]:
        """(vCPUs, memory MiB, disk GiB) the form's data asks for; zero for what is not filled in yet."""
        raise NotImplementedError

    def spec(self, data: dict[str, Any]) -> dict[str, Any]:
        """The kind-specific rest of the ask, stored in the request as JSON."""
        raise NotImplementedError


#: The largest id a database row can have (a signed 64-bit column); beyond it a lookup is a database error.
MAX_ROW_ID = 2**63 - 1


class RowsField(forms.ModelMultipleChoiceField):
    """A choice of several rows by id that refuses ids no row can have before the database sees them.

    A hand-made POST with an id past 64 bits would otherwise make the ``IN`` query fail (a 500).
    """

    def _check_values(self, value: Any) -> Any:
        for item in value:
            text = str(item).strip()
            if not text.isdigit() or int(text) > MAX_ROW_ID:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": text}
                )
        return super()._check_values(value)  # type: ignore[misc]


class SshKeyForm(forms.Form):
    """A public key to keep on the profile. A private key posted here is refused and never shown back."""

    name = forms.CharField(max_length=100, required=False, help_text="Empty: the key's comment.")
    public_key = forms.CharField(
        label="Public key",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
        max_length=8192,
        help_text="One line from a .pub file: ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa (2048 bits or more).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Ids of their own: the profile page shows the token form too, which has a "name" field.
        kwargs.setdefault("auto_id", "id_ssh_key_%s")
        super().__init__(*args, **kwargs)
        if self.is_bound and looks_private(str(self.data.get("public_key", ""))):
            # Drop the secret from the bound data at once: whatever renders this form shows an empty box.
            self.data = {**{key: value for key, value in self.data.items() if key != "public_key"}, "public_key": ""}
            self.private_key_refused = True
        else:
            self.private_key_refused = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.private_key_refused:
            self.errors.pop("public_key", None)
            self.add_error("public_key", PRIVATE_KEY_MESSAGE)
        return cleaned
