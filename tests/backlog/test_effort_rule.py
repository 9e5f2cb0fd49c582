"""One effort rule, one message: the quick add, the full item form, the API and the service
agree on what an effort may be, and every effort input's min/step/max say the same."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from backlog import services
from backlog.models import EFFORT_MAX, EFFORT_MIN, EFFORT_RULE, EFFORT_STEP, BacklogItem
from tests.conftest import HTMX
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db

REFUSED = ["0", "-1", "0.05", "2.25", "1000.1", "1e9", "lots", "NaN"]
ACCEPTED = [("0.1", Decimal("0.1")), ("2.5", Decimal("2.5")), ("1000", Decimal("1000"))]


def test_the_rule_is_what_the_column_stores():
    """Whole and tenths of points; the column holds 7 digits with 1 decimal place."""
    field = BacklogItem._meta.get_field("effort")
    assert Decimal(EFFORT_STEP).as_tuple().exponent == -field.decimal_places
    assert len(EFFORT_MAX.quantize(EFFORT_STEP).as_tuple().digits) <= field.max_digits
    assert EFFORT_MIN == EFFORT_STEP == Decimal("0.1")
    assert "0.1" in EFFORT_RULE and "1,000" in EFFORT_RULE and "one decimal place" in EFFORT_RULE


@pytest.mark.parametrize("effort", REFUSED)
def test_quick_add_refuses_with_the_one_message(owner_client, product, effort):
    response = owner_client.post(
        reverse("backlog:item_quick_add", args=[product.pk]),
        {"title": "Text reminders", "effort": effort},
        **HTMX,
    )
    assert EFFORT_RULE in response.content.decode()
    assert not BacklogItem.objects.exists()


@pytest.mark.parametrize("effort", REFUSED)
def test_the_full_item_form_refuses_with_the_one_message(owner_client, product, effort):
    response = owner_client.post(
        reverse("backlog:item_create", args=[product.pk]),
        {"title": "Slot", "status": "idea", "digitisation_level": "access", "effort": effort},
    )
    assert response.status_code == 422
    assert response.context["form"].errors["effort"] == [EFFORT_RULE]
    assert not BacklogItem.objects.exists()


@pytest.mark.parametrize("effort", ["0", "-1", "0.05", "2.25", "1000.1", 0, 0.05, "lots"])
def test_the_api_refuses_with_the_one_message_on_create_and_edit(owner_client, product, effort):
    response = owner_client.post(
        reverse("api:product_items", args=[product.pk]),
        {"title": "Book a slot", "effort": effort},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["effort"] == [EFFORT_RULE]
    item = BacklogItemFactory(product=product, effort=3)
    response = owner_client.patch(
        reverse("api:item_detail", args=[item.pk]),
        {"effort": effort},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["effort"] == [EFFORT_RULE]
    item.refresh_from_db()
    assert item.effort == 3


@pytest.mark.parametrize(("effort", "stored"), ACCEPTED)
def test_every_way_in_accepts_the_same_efforts(owner_client, product, effort, stored):
    owner_client.post(
        reverse("backlog:item_quick_add", args=[product.pk]), {"title": "Quick", "effort": effort}
    )
    owner_client.post(
        reverse("backlog:item_create", args=[product.pk]),
        {"title": "Full", "status": "idea", "digitisation_level": "access", "effort": effort},
    )
    owner_client.post(
        reverse("api:product_items", args=[product.pk]),
        {"title": "API", "effort": effort},
        content_type="application/json",
    )
    stored_by = dict(BacklogItem.objects.values_list("title", "effort"))
    assert stored_by == {"Quick": stored, "Full": stored, "API": stored}


@pytest.mark.parametrize("effort", [Decimal(0), Decimal("0.05"), Decimal("1000.5"), 0.25])
def test_the_service_refuses_with_the_one_message(product, owner, effort):
    with pytest.raises(ValidationError) as refused:
        services.item_create(product=product, actor=owner, title="Imported", effort=effort)
    assert refused.value.message_dict == {"effort": [EFFORT_RULE]}


def test_the_service_stores_two_point_fifty_as_two_point_five(product, owner):
    item = services.item_create(product=product, actor=owner, title="x", effort=Decimal("2.50"))
    item.refresh_from_db()
    assert item.effort == Decimal("2.5")


def effort_inputs(html: str) -> list[dict[str, str]]:
    inputs = re.findall(r'<input[^>]*name="effort"[^>]*>', html)
    return [dict(re.findall(r'(\w+)="([^"]*)"', tag)) for tag in inputs]


def test_every_effort_input_says_the_rule_in_min_step_and_max(owner_client, product):
    pages = [
        reverse("backlog:product_backlog", args=[product.pk]),
        reverse("backlog:item_create", args=[product.pk]),
        reverse("backlog:item_edit", args=[BacklogItemFactory(product=product).pk]),
    ]
    for url in pages:
        inputs = effort_inputs(owner_client.get(url).content.decode())
        assert inputs, url
        for attrs in inputs:
            assert Decimal(attrs["min"]) == EFFORT_MIN, url
            assert Decimal(attrs["step"]) == EFFORT_STEP, url
            assert Decimal(attrs["max"]) == EFFORT_MAX, url
