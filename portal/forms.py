"""Form pieces shared by every kind of request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone

from portal.choices import Role
from portal.kinds import kind_handler
from portal.leases.policies import LEASE_FIELD, lease_day_check, lease_end_of, lease_terms
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


class DayField(forms.DateField):
    """A date typed as text (or sent as a JSON string); anything else sent through the API is a field error."""

    def to_python(self, value: Any) -> Any:
        if value is not None and not isinstance(value, str | date):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AllowlistForm(forms.Form):
    """A form that refuses posted fields it does not declare.

    A form is the allowlist of what a user may send: a hand-made POST with more
    (``privileged``, a bind mount...) gets a clear error instead of being ignored.
    """

    #: Posted keys that are not fields but are expected (the CSRF token).
    ALWAYS_ALLOWED = frozenset({"csrfmiddlewaretoken"})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.is_bound:
            unknown = sorted(set(self.data) - set(self.fields) - self.ALWAYS_ALLOWED)
            if unknown:
                raise ValidationError(
                    f"These options cannot be asked for here: {', '.join(unknown)}.", code="unknown_fields"
                )
        return cleaned


class ResourceRequestForm(AllowlistForm):
    """Base of the forms that ask for a resource: name, team, justification, plus the kind's fields.

    A subclass names its ``kind``, the sizes its fields ask for, and the rest of
    the spec. Fields a subclass does not declare are refused when posted (``AllowlistForm``).
    """

    kind: str = ""

    name = ResourceNameField(help_text="A DNS label, unique in the team: lowercase letters, digits, hyphens.")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, help_text="What is it for? Admins read this."
    )

    def __init__(self, *args: Any, user: User | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["team"].queryset = teams_for(user, Role.MEMBER)  # type: ignore[attr-defined]
        if self.kind and kind_handler(self.kind).has_leases:
            self.fields[LEASE_FIELD] = self._lease_field()

    def _lease_field(self) -> DayField:
        """The lease's last day, prefilled with the default of the team offered first."""
        team = self.fields["team"].queryset.first()  # type: ignore[attr-defined]
        terms = lease_terms(team.pk, self.kind) if team is not None else None
        today = timezone.localdate()
        last_allowed = terms.last_allowed_day(today) if terms else None
        limit = f" At most {terms.max_days} days ({last_allowed.isoformat()})." if terms and last_allowed else ""
        return DayField(
            label="Lease until",
            required=False,
            initial=terms.default_day(today) if terms else None,
            widget=forms.DateInput(attrs={"type": "date", "min": today.isoformat()}),
            help_text="Stopped after this day, deleted after a grace period. Empty: no lease." + limit,
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if LEASE_FIELD in self.fields and cleaned.get("team") is not None and LEASE_FIELD not in self.errors:
            self._clean_lease(cleaned)
        return cleaned

    def _clean_lease(self, cleaned: dict[str, Any]) -> None:
        """The lease asked for: a last day not posted at all (an API call) means the team's default."""
        terms = lease_terms(cleaned["team"].pk, self.kind)
        day = cleaned.get(LEASE_FIELD) if LEASE_FIELD in self.data else terms.default_day(timezone.localdate())
        try:
            lease_day_check(terms=terms, kind=self.kind, day=day)
        except ValidationError as error:
            self.add_error(None, error)
        else:
            cleaned["lease_ends_at"] = lease_end_of(day)

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
