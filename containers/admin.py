"""Django admin for Docker engines, the image catalogue and containers.

TLS client keys are write-only here: the form takes a new key and seals it;
the stored key is never put back into a page. Loading an image from a tar is
queued as a job; admin code never talks to an engine.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from containers.choices import ContainerState, EngineJobAction, ImageLoadMode
from containers.engines.images import image_load_request, upload_size_check
from containers.engines.services import engine_job_request
from containers.models import Container, ContainerImage, DockerHost
from containers.secrets import secret_seal
from portal.admin_audit import AuditedAdminMixin
from portal.models import Team


class SecretTextarea(forms.Textarea):
    """A textarea that never puts a value back into the page, not even after a form error."""

    def format_value(self, value: Any) -> None:
        return None


class DockerHostForm(forms.ModelForm[DockerHost]):
    """The engine form; the client key is entered, sealed, and never shown again."""

    tls_client_key = forms.CharField(
        label="TLS client key",
        required=False,
        widget=SecretTextarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text="PEM. Leave empty to keep the stored key; it is never displayed.",
    )
    clear_tls_client_key = forms.BooleanField(label="Remove the stored client key", required=False)

    class Meta:
        model = DockerHost
        fields = (
            "name", "base_url", "is_local", "publish_address", "accepts_new_containers", "tls_ca_certificate",
            "tls_client_certificate",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        # The key is put on the row before the model's checks run: a tcp:// URL is valid only with TLS.
        cleaned = super().clean() or {}
        if cleaned.get("clear_tls_client_key"):
            self.instance.tls_client_key_sealed = ""
        elif cleaned.get("tls_client_key"):
            self.instance.tls_client_key_sealed = secret_seal(cleaned["tls_client_key"])
        return cleaned


@admin.register(DockerHost)
class DockerHostAdmin(AuditedAdminMixin, admin.ModelAdmin[DockerHost]):
    form = DockerHostForm
    list_display = (
        "name", "base_url", "is_local", "is_reachable", "engine_version", "cpus", "memory_mib", "last_probed_at",
    )  # fmt: skip
    search_fields = ("name", "base_url")
    readonly_fields = (
        "client_key_state", "is_reachable", "engine_version", "cpus", "memory_mib", "last_probed_at", "last_error",
    )  # fmt: skip
    actions = ("probe_selected", "reconcile_selected")

    @admin.display(description="TLS client key")
    def client_key_state(self, obj: DockerHost) -> str:
        return "stored (sealed, never shown)" if obj.tls_client_key_sealed else "none"

    def save_model(self, request: HttpRequest, obj: DockerHost, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        engine_job_request(actor=request.user, docker_host_id=obj.pk, action=EngineJobAction.ENGINE_PROBE)

    @admin.action(description="Probe selected engines now")
    def probe_selected(self, request: HttpRequest, queryset: QuerySet[DockerHost]) -> None:
        for docker_host in queryset:
            engine_job_request(actor=request.user, docker_host_id=docker_host.pk, action=EngineJobAction.ENGINE_PROBE)
        messages.info(request, f"Probing {queryset.count()} engine(s); refresh in a few seconds.")

    @admin.action(description="Reconcile selected engines now (containers and images)")
    def reconcile_selected(self, request: HttpRequest, queryset: QuerySet[DockerHost]) -> None:
        for docker_host in queryset:
            engine_job_request(
                actor=request.user, docker_host_id=docker_host.pk, action=EngineJobAction.ENGINE_RECONCILE
            )
        messages.info(request, f"Reconciling {queryset.count()} engine(s); refresh in a few seconds.")


class ImageUploadForm(forms.Form):
    """A tar to load into an engine, and the teams it is offered to."""

    docker_host = forms.ModelChoiceField(queryset=DockerHost.objects.all(), label="Docker host")
    mode = forms.ChoiceField(choices=ImageLoadMode.choices, initial=ImageLoadMode.LOAD)
    archive = forms.FileField(label="Tar file")
    reference = forms.RegexField(
        regex=r"\A[a-z0-9][a-z0-9._/-]{0,127}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?\Z",
        required=False,
        help_text="repository:tag; required to import a root filesystem.",
    )
    offered_to = forms.ModelMultipleChoiceField(queryset=Team.objects.all(), required=False)

    def clean_archive(self) -> Any:
        archive = self.cleaned_data["archive"]
        upload_size_check(archive)
        return archive

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("mode") == ImageLoadMode.IMPORT and not cleaned.get("reference"):
            self.add_error("reference", "Importing a root filesystem needs a repository:tag name.")
        return cleaned


@admin.register(ContainerImage)
class ContainerImageAdmin(AuditedAdminMixin, admin.ModelAdmin[ContainerImage]):
    """The image catalogue: what each engine has, and which teams may use it."""

    list_display = ("reference", "docker_host", "present", "size_bytes", "offered_teams", "last_seen_at")
    list_filter = ("docker_host", "present", "offered_to")
    search_fields = ("reference", "image_id")
    filter_horizontal = ("offered_to",)
    readonly_fields = ("docker_host", "reference", "image_id", "size_bytes", "present", "last_seen_at")
    change_list_template = "admin/containers/containerimage/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContainerImage]:
        return super().get_queryset(request).select_related("docker_host").prefetch_related("offered_to")

    @admin.display(description="offered to")
    def offered_teams(self, obj: ContainerImage) -> str:
        return ", ".join(team.name for team in obj.offered_to.all()) or "nobody"

    def get_urls(self) -> list[URLPattern]:
        upload = path("load/", self.admin_site.admin_view(self.load_view), name="containers_image_load")
        return [upload, *super().get_urls()]

    def load_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("portal.decide_resourcerequest"):
            raise PermissionDenied
        form = ImageUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = image_load_request(
                actor=request.user,
                docker_host=form.cleaned_data["docker_host"],
                upload=form.cleaned_data["archive"],
                mode=form.cleaned_data["mode"],
                reference=form.cleaned_data["reference"],
                teams=list(form.cleaned_data["offered_to"]),
            )
            messages.success(request, f"Loading queued as job #{job.pk}; the image appears here when it is done.")
            return HttpResponseRedirect(reverse("admin:portal_job_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "title": "Load an image from a tar", "form": form,
                   "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/containers/containerimage/load.html", context)


@admin.register(Container)
class ContainerAdmin(admin.ModelAdmin[Container]):
    """Containers are made and changed by requests and jobs; admins read them here. Values of
    environment variables are not shown: they often hold secrets."""

    list_display = ("name", "team", "state", "docker_host", "image", "cpus", "memory_mib", "created_at")
    list_filter = ("state", "team", "docker_host")
    search_fields = ("name", "team__name", "engine_id")
    list_select_related = ("team", "docker_host", "image")
    exclude = ("environment",)
    readonly_fields = (
        "team", "owner", "request", "docker_host", "image", "name", "command", "environment_names", "ports", "cpus",
        "memory_mib", "restart_policy", "engine_id", "state", "state_changed_at",
    )  # fmt: skip

    @admin.display(description="environment (names only)")
    def environment_names(self, obj: Container) -> str:
        return ", ".join(sorted(obj.environment)) or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Container | None = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deleting the row would leave the container running, its quota freed
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Container | None = None) -> bool:
        """Only the row of a container already gone from its engine may be deleted here; others from their page."""
        if obj is not None and obj.state != ContainerState.MISSING:
            return False
        return super().has_delete_permission(request, obj)
