"""Django set-up for the benchmarks: a throwaway database, created and dropped per run.

The database is the one ``DATABASE_URL`` names (PostgreSQL in CI, SQLite by default), with
Django's test prefix, so a benchmark never touches real data.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """Create a fresh test database, yield its engine's vendor name, then drop it."""
    setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield connection.vendor
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def count_queries(fn) -> tuple[object, list[str]]:
    """Run ``fn()`` and return its result with the SQL it executed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return result, [q["sql"] for q in ctx.captured_queries]


class WriteCounter:
    """Counts rows written per table, from the SQL the database actually executed."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        verb = sql.lstrip().split(" ", 1)[0].upper()
        if verb in {"UPDATE", "INSERT", "DELETE"}:
            table = sql.split('"')[1] if '"' in sql else sql.split()[1 if verb != "INSERT" else 2]
            rows = context["cursor"].rowcount
            if verb == "INSERT" and rows < 1:
                # SQLite reports no row count for INSERT ... RETURNING until it is fetched.
                rows = len(params) if many else 1
            self.rows[table] = self.rows.get(table, 0) + max(rows, 0)
        return result


def make_product_with_items(n: int, *, name: str = "Bench product"):
    """An organisation, a product owner and a product with ``n`` items, bulk-inserted."""
    from django.contrib.auth import get_user_model

    from backlog import ordering
    from backlog.models import BacklogItem, ItemStatus, ProductRole, ProductRoleKind
    from backlog.services import product_create
    from customers.services import membership_create, organisation_create

    organisation = organisation_create(name=f"{name} organisation")
    product = product_create(organisation=organisation, name=name)
    user = get_user_model().objects.create_user(username=f"bench-owner-{product.pk}", password="pw")
    membership_create(user=user, organisation=organisation)
    ProductRole.objects.create(product=product, user=user, role=ProductRoleKind.PRODUCT_OWNER)
    cohorts = list(organisation.cohorts.all())
    statuses = [ItemStatus.IDEA, ItemStatus.READY, ItemStatus.IN_PROGRESS, ItemStatus.DONE]
    keys = ordering.spread_keys(n)
    batch = 5000
    through = BacklogItem.cohorts.through
    for start in range(0, n, batch):
        items = BacklogItem.objects.bulk_create(
            BacklogItem(
                product=product,
                title=f"Backlog item {i}: let residents do something online",
                effort=(i % 13) + 1,
                status=statuses[i % len(statuses)],
                rank_key=keys[i],
            )
            for i in range(start, min(n, start + batch))
        )
        through.objects.bulk_create(
            through(backlogitem_id=item.pk, cohort_id=cohorts[j % len(cohorts)].pk)
            for j, item in enumerate(items)
        )
    _analyze()
    return organisation, product, user


def _analyze() -> None:
    """Refresh the planner's statistics after a bulk load, as autovacuum soon would in
    production; without it PostgreSQL plans for an empty table and sorts 100,000 rows."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
