"""Seal the environment values stored before values were sealed: in containers and in container requests."""

from django.db import migrations, models

from containers.secrets import environment_seal_plain


def seal_environment(apps, schema_editor):
    Container = apps.get_model("containers", "Container")
    ResourceRequest = apps.get_model("portal", "ResourceRequest")
    for container in Container.objects.exclude(environment={}).iterator():
        container.environment = environment_seal_plain(container.environment)
        container.save(update_fields=["environment"])
    for request in ResourceRequest.objects.filter(kind="container").iterator():
        environment = (request.spec or {}).get("environment")
        if environment:
            request.spec = {**request.spec, "environment": environment_seal_plain(environment)}
            request.save(update_fields=["spec"])


class Migration(migrations.Migration):

    dependencies = [
        ('containers', '0006_dockerhost_is_local_and_url_allowlist'),
        ('portal', '0004_networks'),
    ]

    operations = [
        migrations.AlterField(
            model_name='container',
            name='environment',
            field=models.JSONField(blank=True, default=dict, help_text='Names, with values sealed (containers.secrets).', verbose_name='environment'),
        ),
        migrations.RunPython(seal_environment, migrations.RunPython.noop),
    ]
