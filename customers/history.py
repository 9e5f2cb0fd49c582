"""History plumbing shared by every app: which models django-pghistory tracks, and who acted.

PostgreSQL triggers (installed by each app's ``history_tracking`` migration) write an event
row for every tracked insert, update and delete, whichever code path made it: a form, the
API, ``QuerySet.update()``, a bulk write or the Django admin. Each event points at a
``pghistory.Context`` row saying who acted: the signed-in user and URL for requests (the
middleware below; API tokens are picked up when DRF authenticates), the task name for Celery
tasks, the command name for management commands.

SQLite (the embedded demo) has no such triggers: the event tables are created but stay
empty, and the context helpers here do nothing there (pghistory's context SQL is
PostgreSQL's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pghistory
import pghistory.middleware
from celery.signals import task_postrun, task_prerun
from django.db import connection, migrations, models

# The label pghistory gives each kind of row event (its default labels).
INSERT, UPDATE, DELETE = "insert", "update", "delete"


def track_history(
    *fields: str, events: tuple[str, ...] = (INSERT, UPDATE, DELETE)
) -> Callable[[type[models.Model]], type[models.Model]]:
    """Track a model's ``events`` (inserts, updates of ``fields``, deletes).

    The event row stores ``fields`` of the new row (of the old one for a delete), so the
    value before a change is the previous event's. An update is recorded only when one of
    ``fields`` really changed, so writes to other columns (``updated_at``, the time scores
    were computed) leave no event. The event model is ``<model name>Event``.

    Not for auto-created many-to-many tables: Django's migrations cannot carry their
    triggers (an item's target cohorts are recorded in its ItemEvent history instead).
    """
    trackers = {
        INSERT: lambda: pghistory.InsertEvent(),
        UPDATE: lambda: pghistory.UpdateEvent(condition=pghistory.AnyChange(*fields)),
        DELETE: lambda: pghistory.DeleteEvent(),
    }

    def decorate(model: type[models.Model]) -> type[models.Model]:
        return pghistory.track(
            *(trackers[event]() for event in events),
            fields=list(fields),
            model_name=f"{model.__name__}Event",
            obj_field=pghistory.ObjForeignKey(related_name="audit_events"),
            meta={
                "indexes": [
                    # The audit log: an organisation's events, newest first, in a date range.
                    models.Index(
                        fields=["pgh_created_at"], name=f"{model._meta.model_name[:18]}_hist_time"
                    )
                ]
            },
        )(model)

    return decorate


BASELINE = "baseline"


def baseline(app_label: str, *model_names: str) -> migrations.RunPython:
    """A migration step recording every existing row of the models as a ``baseline`` event,
    so that the first change after tracking starts still has its "before" values. Not shown
    as a change itself. PostgreSQL only, like the triggers."""

    def forwards(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in model_names:
            model = apps.get_model(app_label, name)
            events = apps.get_model(app_label, f"{name}Event")
            columns = ", ".join(
                f'"{f.column}"'
                for f in events._meta.concrete_fields
                if not f.name.startswith("pgh_")
            )
            schema_editor.execute(
                f'INSERT INTO "{events._meta.db_table}" '
                f'({columns}, "pgh_obj_id", "pgh_label", "pgh_created_at") '
                f'SELECT {columns}, "{model._meta.pk.column}", %s, NOW() '
                f'FROM "{model._meta.db_table}"',
                [BASELINE],
            )

    return migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)


def update_trigger(model: type[models.Model]) -> str:
    """The URI of a tracked model's update trigger, for ``pgtrigger.ignore`` around a bulk
    write that is recorded once by other means (a bulk reorder's snapshot)."""
    return f"{model._meta.label}:{UPDATE}_{UPDATE}"


def record_event(obj: models.Model, *, label: str = UPDATE) -> None:
    """Record ``obj`` as it is now, as one event, where a trigger was deliberately skipped
    (the moved item of a rebalance). Nothing on SQLite, which records no history."""
    if connection.vendor == "postgresql":
        pghistory.create_event(obj, label=label)


def history_context(**metadata: Any) -> contextlib.AbstractContextManager:
    """Attach ``metadata`` (who or what is acting) to every event written inside the block.

    Nested blocks add to the outer context. On SQLite this does nothing: no triggers read
    it, and pghistory's context SQL is PostgreSQL's."""
    if connection.vendor != "postgresql":
        return contextlib.nullcontext()
    return pghistory.context(**metadata)


class HistoryMiddleware(pghistory.middleware.HistoryMiddleware):
    """pghistory's middleware (user and URL of each request), on PostgreSQL only.

    For API requests the user is unknown here (DRF authenticates tokens in the view);
    pghistory's request class updates the context when DRF sets ``request.user``.

    The context rides on each statement as a prefix, which ``cursor.executemany`` cannot
    take (django-pghistory issue #258): on PostgreSQL, bulk writes in a request use one
    statement (``unnest``, multi-row ``VALUES``), as Django's bulk methods already do."""

    def __call__(self, request):
        if connection.vendor != "postgresql":
            return self.get_response(request)
        return super().__call__(request)


# Celery: each task's writes carry the task's name. Entered and left by signal, so every
# task (today's and any added later) is covered without a decorator to forget.
_task_contexts: dict[str, contextlib.ExitStack] = {}


@task_prerun.connect(weak=False)
def _enter_task_context(task_id: str | None = None, task=None, **_kwargs: Any) -> None:
    if task_id is None or task is None:
        return
    stack = contextlib.ExitStack()
    stack.enter_context(history_context(task=task.name))
    _task_contexts[task_id] = stack


@task_postrun.connect(weak=False)
def _leave_task_context(task_id: str | None = None, **_kwargs: Any) -> None:
    stack = _task_contexts.pop(task_id, None) if task_id else None
    if stack is not None:
        stack.close()


@contextlib.contextmanager
def command_context(name: str) -> Iterator[None]:
    """For management commands: their writes carry ``command=<name>``."""
    with history_context(command=name):
        yield
