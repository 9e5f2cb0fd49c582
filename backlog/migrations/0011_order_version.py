"""The order version of each product, kept by statement-level triggers on the items table.

One trigger per kind of statement, each with its transition table(s), so a bulk reorder of
100,000 rows moves the version once per product, not once per row.
PostgreSQL only: SQLite has no statement-level triggers, and the app reads no version there.
"""

import django.db.models.deletion
from django.db import migrations, models


BUMP = """
INSERT INTO backlog_orderversion (product_id, version)
SELECT product_id, 1 FROM ({changed}) AS changed ORDER BY product_id
ON CONFLICT (product_id) DO UPDATE SET version = backlog_orderversion.version + 1
"""

FUNCTIONS = {
    "insert": BUMP.format(changed="SELECT DISTINCT product_id FROM new_rows"),
    "delete": BUMP.format(changed="SELECT DISTINCT product_id FROM old_rows"),
    # Any update, not only of a key, status or product: comparing the old and new rows
    # would join two unindexed transition tables, which the planner loops over row by row.
    # A title edit moving the version costs one recount of the ranks on the next page.
    "update": BUMP.format(
        changed="SELECT product_id FROM new_rows UNION SELECT product_id FROM old_rows"
    ),
}
TRANSITIONS = {
    "insert": "NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for op, body in FUNCTIONS.items():
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION backlog_order_version_{op}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {body.strip()}; RETURN NULL; END $$"
        )
        schema_editor.execute(
            f"CREATE TRIGGER backlog_order_version_{op} AFTER {op.upper()} "
            f"ON backlog_backlogitem REFERENCING {TRANSITIONS[op]} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION backlog_order_version_{op}()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for op in FUNCTIONS:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS backlog_order_version_{op} ON backlog_backlogitem"
        )
        schema_editor.execute(f"DROP FUNCTION IF EXISTS backlog_order_version_{op}()")


class Migration(migrations.Migration):
    dependencies = [
        ("backlog", "0010_default_principles"),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderVersion",
            fields=[
                (
                    "product",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="order_version",
                        serialize=False,
                        to="backlog.product",
                    ),
                ),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
