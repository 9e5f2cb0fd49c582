"""Item services enforce their rules whoever calls them (pages, API, imports)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from backlog import services
from backlog.models import BacklogItem, ItemCapability
from tests.factories import BacklogItemFactory, CapabilityFactory

pytestmark = pytest.mark.django_db


def update_kwargs(item, **changes) -> dict:
    base = {
        "title": item.title,
        "description": item.description,
        "digitisation_level": item.digitisation_level,
        "status": item.status,
        "effort": item.effort,
        "cohorts": list(item.cohorts.all()),
    }
    return {**base, **changes}


def test_an_item_cannot_be_created_or_edited_straight_to_live(product, owner):
    with pytest.raises(ValidationError, match="four go-live sign-offs"):
        services.item_create(product=product, actor=owner, title="Shortcut", status="live")
    item = BacklogItemFactory(product=product)
    with pytest.raises(ValidationError, match="four go-live sign-offs"):
        services.item_update(item=item, actor=owner, **update_kwargs(item, status="live"))
    assert not BacklogItem.objects.filter(status="live").exists()


@pytest.mark.parametrize("effort", [Decimal(0), Decimal(-2)])
def test_zero_or_negative_effort_is_refused_with_a_clear_message(product, owner, effort):
    with pytest.raises(ValidationError, match="from 0.1 to 1,000"):
        services.item_create(product=product, actor=owner, title="X", effort=effort)
    item = BacklogItemFactory(product=product, title="Kept")
    with pytest.raises(ValidationError, match="from 0.1 to 1,000"):
        services.item_update(
            item=item, actor=owner, **update_kwargs(item, title="Lost", effort=effort)
        )
    assert item.title == "Kept"  # the caller's object is left as it was
    item.refresh_from_db()
    assert item.title == "Kept"


def test_an_update_without_capabilities_keeps_them(product, owner, organisation):
    item = BacklogItemFactory(product=product)
    capability = CapabilityFactory(organisation=organisation)
    ItemCapability.objects.create(item=item, capability=capability, use="builds")
    services.item_update(item=item, actor=owner, **update_kwargs(item, title="Renamed"))
    assert ItemCapability.objects.filter(item=item, capability=capability).exists()
    services.item_update(item=item, actor=owner, builds=[], reuses=[], **update_kwargs(item))
    assert not ItemCapability.objects.filter(item=item).exists()
