"""Django admin for Docker engines."""

from django.contrib import admin

from containers.models import DockerHost


@admin.register(DockerHost)
class DockerHostAdmin(admin.ModelAdmin[DockerHost]):
    list_display = ("name", "base_url", "is_reachable", "engine_version", "cpus", "memory_mib", "last_probed_at")
    search_fields = ("name", "base_url")
    readonly_fields = ("is_reachable", "engine_version", "cpus", "memory_mib", "last_probed_at", "last_error")
