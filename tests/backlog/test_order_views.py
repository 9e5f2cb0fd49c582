"""The ordering endpoints through HTTP: who may reorder, and what a stale drop gets back."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backlog.models import BacklogItem, ProductRoleKind
from tests.conftest import HTMX, client_for
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(product):
    return [BacklogItemFactory(product=product, title=f"Item {n}") for n in range(1, 5)]


def order_of(product) -> list[str]:
    return list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("title", flat=True)
    )


def writes(product, item) -> list[tuple[str, dict]]:
    return [
        (reverse("backlog:item_move", args=[item.pk]), {"to": "top"}),
        (reverse("backlog:item_pin", args=[item.pk]), {"pinned": "true"}),
        (reverse("backlog:order_apply_scores", args=[product.pk]), {}),
        (reverse("backlog:order_undo", args=[product.pk]), {}),
    ]


def test_anonymous_users_are_sent_to_sign_in(client, product, items):
    for url, data in writes(product, items[3]):
        assert client.post(url, data).url.startswith(reverse("login")), url


def test_another_organisation_gets_404_and_nothing_moves(outsider_client, product, items):
    for url, data in writes(product, items[3]):
        assert outsider_client.post(url, data).status_code == 404, url
    assert order_of(product) == ["Item 1", "Item 2", "Item 3", "Item 4"]


@pytest.mark.parametrize(
    "role",
    [ProductRoleKind.VIEWER, ProductRoleKind.BUSINESS_ANALYST, ProductRoleKind.BUSINESS_VOTER],
)
def test_only_the_product_owner_reorders(make_member, product, items, role):
    client = client_for(make_member(product=product, roles=[role]))
    for url, data in writes(product, items[3]):
        assert client.post(url, data).status_code == 403, url
    assert order_of(product) == ["Item 1", "Item 2", "Item 3", "Item 4"]
    assert not BacklogItem.objects.filter(pinned=True).exists()


def test_a_move_returns_the_refreshed_list_and_an_announcement(owner_client, product, items):
    response = owner_client.post(
        reverse("backlog:item_move", args=[items[3].pk]), {"to": "top", "shown": "4"}, **HTMX
    )
    assert response.status_code == 200
    assert b'id="backlog-results"' in response.content and b"<html" not in response.content
    assert "Moved “Item 4” to position 1.".encode() in response.content
    assert order_of(product)[0] == "Item 4"


def test_a_stale_drop_is_refused_with_a_message_and_the_current_list(owner_client, product, items):
    """The page showed Item 3 above Item 2; someone has since put them the other way."""
    response = owner_client.post(
        reverse("backlog:item_move", args=[items[0].pk]),
        {"to": "between", "before_id": items[2].pk, "after_id": items[1].pk},
        **HTMX,
    )
    assert response.status_code == 200
    assert b"changed while you were looking" in response.content
    assert response.content.index(b"Item 2") < response.content.index(b"Item 3")
    assert order_of(product) == ["Item 1", "Item 2", "Item 3", "Item 4"]


def test_without_javascript_a_move_redirects_back_to_the_same_listing(owner_client, product, items):
    response = owner_client.post(
        reverse("backlog:item_move", args=[items[2].pk]), {"to": "up", "listing": "status=idea"}
    )
    assert response.status_code == 302
    assert response.url == reverse("backlog:product_backlog", args=[product.pk]) + "?status=idea"
    assert order_of(product) == ["Item 1", "Item 3", "Item 2", "Item 4"]
