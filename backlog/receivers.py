"""Backlog's answers to what the customers layer announces (connected in ``apps.py``)."""

from __future__ import annotations

from backlog.models import DEFAULT_PRINCIPLES, Principle
from customers.models import Organisation


def principles_create_defaults(*, organisation: Organisation, **_: object) -> None:
    """Give a new organisation the six technology principles of the seeds (editable)."""
    Principle.objects.bulk_create(
        Principle(organisation=organisation, position=position, **principle)
        for position, principle in enumerate(DEFAULT_PRINCIPLES, start=1)
    )
