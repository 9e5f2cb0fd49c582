"""API lists page by cursor (keyset): every page continues after the last row of the page
before, by the list's order, so the last page costs what the first does and nothing counts
the rows.

The guarantee of a walk by ``next``: every item that stays where it is during the walk is
returned exactly once, in order, whatever else is moved, added or removed meanwhile. An
item moved during the walk is returned where it stands when the walk reaches its new place:
once if it moves within the part not yet read, not at all if it moves into the part already
read, and a second time if it moves from the part already read into the rest.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog import ordering, services
from backlog.models import BacklogItem, ProductRoleKind, ShowAndTell
from prioritisation.models import VotingRound
from tests.conftest import client_for
from tests.factories import BacklogItemFactory, ProductFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db


def items_url(product) -> str:
    return reverse("api:product_items", args=[product.pk])


def manual_order(product) -> list[int]:
    return list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )


def walk(client, url: str, *, limit: int, query=None, between=None) -> list[int]:
    """Ids of every row, following ``next`` from the first page; ``between(seen)`` runs
    before each page after the first."""
    seen: list[int] = []
    response = client.get(url, {**(query or {}), "limit": limit})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["results"]) <= limit
        seen += [row["id"] for row in body["results"]]
        if body["next"] is None:
            return seen
        if between is not None:
            between(seen)
        response = client.get(body["next"])


@pytest.fixture
def backlog(product):
    """Twelve items whose manual order is not their creation order."""
    items = BacklogItemFactory.create_batch(12, product=product)
    for item in items[3::4]:
        services.item_move(item=item, actor=None, to="top")
    return manual_order(product)


# ---------------------------------------------------------------- walking the items


def test_walking_the_items_by_next_returns_each_once_in_manual_order(
    owner_client, product, backlog
):
    assert walk(owner_client, items_url(product), limit=5) == backlog


def test_walking_back_by_previous_returns_the_same_pages(owner_client, product, backlog):
    response = owner_client.get(items_url(product), {"limit": 5})
    pages = [response.json()]
    while pages[-1]["next"]:
        pages.append(owner_client.get(pages[-1]["next"]).json())
    back = [pages[-1]]
    while back[-1]["previous"]:
        back.append(owner_client.get(back[-1]["previous"]).json())
    assert [[r["id"] for r in page["results"]] for page in reversed(back)] == [
        [r["id"] for r in page["results"]] for page in pages
    ]


def test_an_item_added_at_the_top_during_a_walk_repeats_no_item(owner_client, product, backlog):
    """By offset, the new item pushed the last item read onto the next page as well."""

    def add_at_top(seen):
        if len(seen) == 5:
            top = BacklogItem.objects.get(pk=backlog[0])
            key = ordering.key_between(None, top.rank_key)
            BacklogItemFactory(product=product, rank_key=key)

    assert walk(owner_client, items_url(product), limit=5, between=add_at_top) == backlog


def test_an_item_moved_behind_the_walk_makes_no_other_item_vanish(owner_client, product, backlog):
    """By offset, moving an unread item to the top made the walk read the last read item
    again, and the end of the walk never came to the moved one: it is behind the reader,
    who has read that part of the list already."""
    moved = backlog[-1]

    def move_to_top(seen):
        if len(seen) == 5:
            services.item_move(item=BacklogItem.objects.get(pk=moved), actor=None, to="top")

    seen = walk(owner_client, items_url(product), limit=5, between=move_to_top)
    assert seen == [pk for pk in backlog if pk != moved]


def test_an_item_moved_within_the_unread_part_is_returned_once_at_its_new_place(
    owner_client, product, backlog
):
    moved = backlog[-1]
    expected = [*backlog[:7], moved, *backlog[7:-1]]

    def move_up(seen):
        if len(seen) == 5:
            item = BacklogItem.objects.get(pk=moved)
            services.item_move(
                item=item, actor=None, to="between", before_id=backlog[6], after_id=backlog[7]
            )

    assert walk(owner_client, items_url(product), limit=5, between=move_up) == expected


def test_an_item_moved_from_the_read_part_ahead_is_returned_again_at_its_new_place(
    owner_client, product, backlog
):
    """The other side of the guarantee, written down so that it does not change unnoticed."""
    moved = backlog[0]

    def move_to_bottom(seen):
        if len(seen) == 5:
            services.item_move(item=BacklogItem.objects.get(pk=moved), actor=None, to="bottom")

    seen = walk(owner_client, items_url(product), limit=5, between=move_to_bottom)
    assert seen == [*backlog, moved]


def test_a_filtered_walk_keeps_the_filters_on_every_page(owner_client, product, backlog):
    BacklogItem.objects.filter(pk__in=backlog[::3]).update(status="ready")
    seen = walk(owner_client, items_url(product), limit=2, query={"status": "ready"})
    assert seen == backlog[::3]


# ---------------------------------------------------------------- cost


def _page_queries(client, url: str) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return response.json(), [q["sql"] for q in ctx.captured_queries]


def test_the_last_page_costs_the_queries_of_the_first_and_nothing_counts_the_items(
    owner_client, product
):
    """Guards the COUNT over the whole product and the OFFSET past every earlier item that
    each page used to pay: the last page's item query starts from its cursor's key."""
    keys = ordering.spread_keys(350)
    BacklogItem.objects.bulk_create(
        BacklogItem(product=product, title=f"Item {n}", rank_key=key) for n, key in enumerate(keys)
    )
    first, first_sql = _page_queries(owner_client, items_url(product) + "?limit=100")
    page, url = first, first["next"]
    while page["next"]:
        url = page["next"]
        page = owner_client.get(url).json()
    last, last_sql = _page_queries(owner_client, url)
    assert [r["rank_key"] for r in last["results"]] == keys[300:]
    assert len(last_sql) == len(first_sql)
    for sql in first_sql + last_sql:
        assert "COUNT(" not in sql.upper(), sql
        assert "OFFSET" not in sql.upper(), sql
    items_sql = [sql for sql in last_sql if 'FROM "backlog_backlogitem"' in sql]
    assert len(items_sql) == 1
    assert '"backlog_backlogitem"."rank_key" >' in items_sql[0]


def test_a_limit_above_the_cap_gives_the_cap(owner_client, product):
    BacklogItem.objects.bulk_create(
        BacklogItem(product=product, title=f"Item {n}", rank_key=key)
        for n, key in enumerate(ordering.spread_keys(1005))
    )
    body = owner_client.get(items_url(product), {"limit": 5000}).json()
    assert len(body["results"]) == 1000
    assert "limit=5000" in body["next"]  # the next page is capped the same way


# ---------------------------------------------------------------- every list


def _rows_of_every_list(product, owner) -> dict[str, tuple[str, list[int]]]:
    """Three rows or more in each list, and the order each list promises."""
    organisation = product.organisation
    for name in ("Apprenticeships", "Zoo licences"):
        ProductFactory(organisation=organisation, name=name)
    items = BacklogItemFactory.create_batch(6, product=product)
    give_score_ranks(items)
    for n in range(3):
        open_round(product, owner, title=f"Round {n}", opens_at=timezone.now() - timedelta(days=n))
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    for weeks in range(3):
        week = monday - timedelta(weeks=weeks)
        ShowAndTell.objects.create(product=product, week_start=week, date=week)
    return {
        "products": (
            reverse("api:product_list"),
            list(organisation.products.order_by("name").values_list("pk", flat=True)),
        ),
        "metrics": (
            reverse("api:metric_list"),
            list(organisation.metrics.order_by("name").values_list("pk", flat=True)),
        ),
        "rounds": (
            reverse("api:product_rounds", args=[product.pk]),
            list(product.voting_rounds.order_by("-opens_at").values_list("pk", flat=True)),
        ),
        "sessions": (
            reverse("api:product_sessions", args=[product.pk]),
            list(product.sessions.order_by("-date").values_list("pk", flat=True)),
        ),
        "items": (items_url(product), manual_order(product)),
    }


LISTS = ["products", "metrics", "rounds", "sessions", "items"]


@pytest.mark.parametrize("name", LISTS)
def test_every_list_pages_by_cursor_in_its_order(make_member, product, name):
    owner = make_member(
        product=product, roles=[ProductRoleKind.PRODUCT_OWNER, ProductRoleKind.DELIVERY_LEAD]
    )
    url, expected = _rows_of_every_list(product, owner)[name]
    assert len(expected) >= 3
    client = client_for(owner)
    assert walk(client, url, limit=1) == expected
    first = client.get(url, {"limit": 1}).json()
    assert set(first) == {"next", "previous", "results"}  # no count: nothing counts the rows
    assert "cursor=" in first["next"] and first["previous"] is None


def test_rounds_that_open_at_the_same_moment_are_each_listed_once(owner_client, owner, product):
    """The rounds' key, the opening time, is not unique: the cursor then counts its place
    among the equal ones, and the id settles their order."""
    give_score_ranks(BacklogItemFactory.create_batch(4, product=product))
    rounds = [open_round(product, owner, title=f"Round {n}") for n in range(5)]
    VotingRound.objects.filter(pk__in=[r.pk for r in rounds]).update(
        opens_at=timezone.now() - timedelta(hours=1)
    )
    url = reverse("api:product_rounds", args=[product.pk])
    assert walk(owner_client, url, limit=2) == sorted((r.pk for r in rounds), reverse=True)


# ---------------------------------------------------------------- bad cursors


def cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("items", "not a cursor!"),
        ("items", cursor("o=-1")),
        ("items", cursor("o=1&r=yes")),
        ("items", cursor("p=a%00b")),  # a NUL, which PostgreSQL text cannot hold
        ("items", cursor("p=" + "a" * 65)),  # longer than any key
        ("products", cursor("p=%00")),
        ("rounds", cursor("p=yesterday")),
        ("rounds", cursor("p=2026-01-01 10:00:00")),  # no time zone
        ("sessions", cursor("p=2026-02-30")),
        ("sessions", cursor("p=")),
    ],
)
def test_a_cursor_the_api_did_not_give_is_refused_with_400(
    owner_client, owner, product, name, value
):
    url, _ = _rows_of_every_list(product, owner)[name]
    response = owner_client.get(url, {"cursor": value})
    assert response.status_code == 400
    assert response.json() == {
        "cursor": ["Not a cursor this API gave: follow the next and previous links as they are."]
    }


def test_a_cursor_of_one_list_on_another_is_refused_with_400(owner_client, owner, product):
    """A rounds cursor holds a time; the sessions list's key is a date."""
    urls = _rows_of_every_list(product, owner)
    rounds = owner_client.get(urls["rounds"][0], {"limit": 1}).json()
    token = rounds["next"].split("cursor=")[1].split("&")[0]
    response = owner_client.get(urls["sessions"][0] + "?cursor=" + token)
    assert response.status_code == 400
    assert set(response.json()) == {"cursor"}


@pytest.fixture
def lists(product, owner):
    return _rows_of_every_list(product, owner)


@given(
    raw=st.text(max_size=40),
    position=st.text(max_size=40),
    offset=st.text(max_size=6),
    reverse=st.sampled_from(["0", "1", "", "x"]),
)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_cursor_gives_a_page_or_a_400(owner_client, lists, raw, position, offset, reverse):
    built = cursor(urlencode({"p": position, "o": offset, "r": reverse}))
    for url, _ in lists.values():
        for value in (raw, built):
            response = owner_client.get(url, {"cursor": value})
            assert response.status_code in (200, 400), (url, value, response.status_code)


def test_paging_by_offset_is_refused_with_a_pointer_to_the_cursor(owner_client, product, backlog):
    """Ignoring it would give a client counting offsets the first page for ever."""
    response = owner_client.get(items_url(product), {"offset": "100"})
    assert response.status_code == 400
    assert response.json() == {
        "offset": [
            "Lists page by cursor, not offset: follow the next link, which carries the cursor."
        ]
    }


# ---------------------------------------------------------------- schema


def test_the_schema_documents_cursor_and_limit_and_the_page_shape():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    lists = [
        "/api/v1/products/",
        "/api/v1/metrics/",
        "/api/v1/products/{id}/rounds/",
        "/api/v1/products/{id}/sessions/",
        "/api/v1/products/{id}/items/",
    ]
    for path in lists:
        operation = schema["paths"][path]["get"]
        parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert parameters["cursor"]["schema"] == {"type": "string"}, path
        assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1}, path
        assert "1000" in parameters["limit"]["description"], path
        assert "offset" not in parameters, path
        reference = operation["responses"]["200"]["content"]["application/json"]["schema"]
        page = schema["components"]["schemas"][reference["$ref"].rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"next", "previous", "results"}, path
        assert set(page["required"]) == {"next", "previous", "results"}, path
        assert page["properties"]["results"]["type"] == "array", path
