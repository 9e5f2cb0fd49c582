"""Prioritisation's answers to what the lower layers announce (connected in ``apps.py``)."""

from __future__ import annotations

from backlog.models import Product
from customers.models import Organisation
from prioritisation.services import (
    metrics_create_defaults,
    scores_refresh,
    scores_refresh_organisation,
)


def add_default_metrics(*, organisation: Organisation, **_: object) -> None:
    metrics_create_defaults(organisation=organisation)


def rescore_organisation(*, organisation_id: int, **_: object) -> None:
    scores_refresh_organisation(organisation_id=organisation_id)


def rescore_product(*, product: Product, **_: object) -> None:
    scores_refresh(product=product)
