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


def move(client, item, **data):
    return client.post(reverse("backlog:item_move", args=[item.pk]), data, **HTMX)


def announced(response) -> str:
    """The text the move put in the live region."""
    text = response.content.decode()
    start = text.index('hx-swap-oob="innerHTML:#order-status">')
    return text[start : text.index("</span>", start)]


def test_a_position_past_the_end_says_it_went_to_the_bottom_and_which_position(
    owner_client, product, items
):
    response = move(owner_client, items[0], to="position", position="9999")
    assert response.status_code == 200
    assert "Moved “Item 1” to the bottom, position 4." in announced(response)
    assert order_of(product) == ["Item 2", "Item 3", "Item 4", "Item 1"]


@pytest.mark.parametrize("position", ["0", "-5", ""])
def test_a_position_below_one_is_refused_with_400_and_nothing_moves(
    owner_client, product, items, position
):
    response = move(owner_client, items[2], to="position", position=position)
    assert response.status_code == 400
    assert "Give a position of 1 or more" in announced(response)
    assert "error-text" in announced(response)
    assert order_of(product) == ["Item 1", "Item 2", "Item 3", "Item 4"]


@pytest.mark.parametrize("status", ["done", "rejected"])
@pytest.mark.parametrize("to", ["up", "top", "bottom"])
def test_moving_a_closed_item_is_refused_and_never_claims_success(
    owner_client, product, items, status, to
):
    BacklogItem.objects.filter(pk=items[2].pk).update(status=status)
    response = move(owner_client, items[2], to=to)
    assert response.status_code == 400
    said = announced(response)
    assert "only open items" in said and "Moved" not in said
    assert order_of(product) == ["Item 1", "Item 2", "Item 3", "Item 4"]


def test_moving_a_closed_item_without_javascript_redirects_with_the_message(
    owner_client, product, items
):
    BacklogItem.objects.filter(pk=items[2].pk).update(status="done")
    url = reverse("backlog:item_move", args=[items[2].pk])
    response = owner_client.post(url, {"to": "up"}, follow=True)
    assert response.redirect_chain[-1][1] == 302
    said = [str(m) for m in response.context["messages"]]
    assert any("only open items" in m for m in said), said
    assert not any(m.startswith("Moved") for m in said)


@pytest.mark.parametrize(
    ("index", "to", "message"),
    [
        (0, "up", "“Item 1” is already at the top."),
        (0, "top", "“Item 1” is already at the top."),
        (3, "down", "“Item 4” is already at the bottom."),
        (3, "bottom", "“Item 4” is already at the bottom."),
        (1, "position", "“Item 2” is already at position 2."),
    ],
)
def test_a_move_that_changes_nothing_says_so(owner_client, product, items, index, to, message):
    response = move(owner_client, items[index], to=to, position="2")
    assert response.status_code == 200
    assert message in announced(response)
    assert not BacklogItem.objects.get(pk=items[index].pk).events.exists()


def test_up_on_the_first_open_item_below_a_done_one_says_it_is_already_at_the_top(
    owner_client, product, items
):
    BacklogItem.objects.filter(pk=items[0].pk).update(status="done")
    response = move(owner_client, items[1], to="up")
    assert "“Item 2” is already at the top." in announced(response)
    assert order_of(product) == ["Item 1", "Item 2", "Item 3", "Item 4"]


def test_closed_rows_have_no_drag_handle_and_no_move_menu(owner_client, product, items):
    BacklogItem.objects.filter(pk=items[1].pk).update(status="done")
    BacklogItem.objects.filter(pk=items[2].pk).update(status="rejected")
    page = owner_client.get(reverse("backlog:product_backlog", args=[product.pk]))
    text = page.content.decode()
    rows = {
        item.title: text[text.index(f'data-item-id="{item.pk}"') :].split("</tr>", 1)[0]
        for item in items
    }
    for title in ("Item 1", "Item 4"):
        assert "drag-handle" in rows[title] and "move-form" in rows[title], title
    for title in ("Item 2", "Item 3"):
        assert "drag-handle" not in rows[title] and "move-form" not in rows[title], title
        assert "<summary>" not in rows[title], title


def test_an_htmx_move_reads_only_what_the_list_needs(owner_client, product, items):
    """The move loads the item without its page's relations (cohorts, capabilities) and
    the same number of queries answers it however long the list."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def move(item) -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            response = owner_client.post(
                reverse("backlog:item_move", args=[item.pk]), {"to": "top"}, **HTMX
            )
        assert response.status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    few = move(items[3])
    BacklogItemFactory.create_batch(40, product=product)
    many = move(items[2])
    assert len(many) == len(few)
    assert not any("backlog_itemcapability" in sql for sql in many)
    assert (
        sum(
            "customers_organisation" in sql and 'FROM "customers_organisation"' in sql
            for sql in many
        )
        == 0
    )
