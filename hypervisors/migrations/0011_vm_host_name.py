"""VMs keep their host's name on the row, indexed with the VM's name, so the list sorts by host with an index."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def host_names_copy(apps, schema_editor):
    """Fill the new column from each VM's host (one UPDATE)."""
    VirtualMachine = apps.get_model("hypervisors", "VirtualMachine")
    Host = apps.get_model("hypervisors", "Host")
    VirtualMachine.objects.filter(host__isnull=False).update(
        host_name=Subquery(Host.objects.filter(pk=OuterRef("host_id")).values("name")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("hypervisors", "0010_virtualnetwork_team_default"),
    ]

    operations = [
        migrations.AddField(
            model_name="virtualmachine",
            name="host_name",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="The host's name, for sorting.",
                max_length=100,
                null=True,
                verbose_name="host name",
            ),
        ),
        migrations.RunPython(host_names_copy, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="virtualmachine",
            index=models.Index(fields=["host_name", "name"], name="vm_hostname_name"),
        ),
    ]
