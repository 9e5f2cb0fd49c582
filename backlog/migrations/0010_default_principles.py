"""Every organisation that exists before principles did gets the six default ones."""

from django.db import migrations

# Frozen here: a data migration must not follow later edits of the defaults.
PRINCIPLES = (
    ("Cloud native", "Runs on public cloud services, bought as a service, not hosted by us."),
    ("Mobile ready", "Works on a phone as well as on a desk, for colleagues and citizens."),
    ("Interoperable", "Shares its data with other systems through open APIs and standards."),
    ("Flexible", "Built on shared platforms and capabilities, reused rather than rebuilt."),
    ("Enabling customers", "Lets people serve themselves; shaped by evidence from user research."),
    ("Proportionately secure", "Security matched to the risk: neither careless nor in the way."),
)


def add_defaults(apps, schema_editor):
    Organisation = apps.get_model("customers", "Organisation")
    Principle = apps.get_model("backlog", "Principle")
    for organisation in Organisation.objects.filter(principles__isnull=True):
        Principle.objects.bulk_create(
            Principle(organisation=organisation, name=name, description=text, position=position)
            for position, (name, text) in enumerate(PRINCIPLES, start=1)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("backlog", "0009_archive_capabilities_principles"),
        ("customers", "0004_organisation_people"),
    ]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
