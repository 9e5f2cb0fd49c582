"""Editing an item in place refreshes every part of its page the change touches."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from backlog.models import ItemStatus
from prioritisation import services
from prioritisation.services import EstimateCell
from tests.conftest import HTMX
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ranked_items(product, owner, cohorts, metrics):
    """Three open items ranked by score: the second of them is #2 of 3."""
    items = []
    for title, hours in [("Text tenants", 300), ("Book a repair slot", 200), ("Old form", 100)]:
        item = BacklogItemFactory(product=product, title=title, effort=3)
        services.estimates_save(
            item=item,
            actor=owner,
            cells=[
                EstimateCell(
                    cohort=cohorts["Citizens"],
                    metric=metrics["Staff hours saved"],
                    value=Decimal(hours),
                    confidence="high",
                )
            ],
        )
        items.append(item)
    return items


def edit_data(item, **overrides) -> dict:
    data = {
        "title": item.title,
        "description": "",
        "status": item.status,
        "digitisation_level": item.digitisation_level,
        "effort": "3",
    }
    return {**data, **overrides}


def test_saving_done_in_place_refreshes_the_score_panel_out_of_band(owner_client, ranked_items):
    item = ranked_items[1]
    before = owner_client.get(reverse("backlog:item_detail", args=[item.pk]))
    assert b"<strong>#2</strong> of 3 open items" in before.content

    response = owner_client.post(
        reverse("backlog:item_edit", args=[item.pk]),
        edit_data(item, status=ItemStatus.DONE),
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="score-panel"' in html and 'hx-swap-oob="true"' in html
    assert "Not ranked" in html
    assert "of 3 open items" not in html and "of 2 open items" not in html


def test_a_new_title_reaches_the_breadcrumb_and_the_tab_title(owner_client, ranked_items):
    item = ranked_items[1]
    response = owner_client.post(
        reverse("backlog:item_edit", args=[item.pk]),
        edit_data(item, title="Book a repair slot by text"),
        **HTMX,
    )
    html = response.content.decode()
    assert "<title>Book a repair slot by text · Benefit Backlog</title>" in html
    breadcrumb = html[html.index('id="item-breadcrumb"') :]
    breadcrumb = breadcrumb[: breadcrumb.index("</nav>")]
    assert 'hx-swap-oob="true"' in breadcrumb
    assert "Book a repair slot by text" in breadcrumb


def test_the_changes_table_shows_the_edit_just_made(owner_client, ranked_items):
    item = ranked_items[1]
    response = owner_client.post(
        reverse("backlog:item_edit", args=[item.pk]),
        edit_data(item, title="Book a repair slot by text"),
        **HTMX,
    )
    html = response.content.decode()
    changes = html[html.index('id="item-changes"') :]
    assert 'hx-swap-oob="true"' in changes[:200]
    assert "<ins>Book a repair slot by text</ins>" in changes


def test_the_whole_page_after_an_edit_shows_one_of_each_part(owner_client, ranked_items):
    """The out-of-band parts are only in the htmx response, never doubled on the page."""
    item = ranked_items[1]
    page = owner_client.get(reverse("backlog:item_detail", args=[item.pk])).content.decode()
    for part in ('id="score-panel"', 'id="item-breadcrumb"', 'id="item-changes"'):
        assert page.count(part) == 1, part
    assert "hx-swap-oob" not in page
