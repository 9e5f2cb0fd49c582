"""Keep (product, rank_key) unique on SQLite too.

0007 made the constraint deferrable so that PostgreSQL can swap keys in one statement.
Django does not create deferrable constraints on SQLite (models.W038), which would leave the
embedded default with no uniqueness at all; there a plain unique index stands in for it, and
the order service parks rows on prefixed keys before it writes their new ones.
"""

from django.db import migrations

INDEX = "item_unique_rank_key_per_product_sqlite"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {INDEX} "
            "ON backlog_backlogitem (product_id, rank_key)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("backlog", "0007_order_keyset_indexes")]

    operations = [migrations.RunPython(create, drop)]
