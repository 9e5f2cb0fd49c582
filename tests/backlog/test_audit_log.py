"""The organisation's audit log (admins only, their own organisation only), its CSV export,
and the item's change history: permissions, filters, paging, tenancy and query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backlog import audit, services
from backlog.models import BacklogItem, ItemStatus, ProductRoleKind
from customers.history import history_context
from prioritisation import services as scoring
from prioritisation.models import Confidence
from tests.conftest import client_for, count_get_queries, require_postgresql
from tests.factories import BacklogItemFactory, ProductFactory, UserFactory

AUDIT = reverse("backlog:audit_log")
CSV = reverse("backlog:audit_log_csv")


@pytest.fixture
def pg(db):
    require_postgresql()


@pytest.fixture
def admin(make_member):
    return make_member(admin=True)


@pytest.fixture
def admin_client(admin):
    return client_for(admin)


@pytest.fixture
def other_admin_client(make_member, other_organisation):
    return client_for(make_member(org=other_organisation, admin=True))


def edit(client, item, **changes):
    data = {
        "title": item.title,
        "description": item.description,
        "digitisation_level": item.digitisation_level,
        "status": item.status,
        "effort": item.effort or "",
        **changes,
    }
    response = client.post(reverse("backlog:item_edit", args=[item.pk]), data)
    assert response.status_code == 302, response.content
    item.refresh_from_db()


def csv_rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# ---------------------------------------------------------------- who may see it


@pytest.mark.django_db
@pytest.mark.parametrize("url", [AUDIT, CSV])
def test_signed_out_people_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("url", [AUDIT, CSV])
def test_members_who_are_not_organisation_admins_get_403(owner_client, viewer_client, url):
    assert owner_client.get(url).status_code == 403
    assert viewer_client.get(url).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("url", [AUDIT, CSV])
def test_someone_in_no_organisation_gets_404(url):
    assert client_for(UserFactory()).get(url).status_code == 404


@pytest.mark.parametrize(
    "url", [AUDIT, CSV, reverse("backlog:item_history", args=[1])], ids=["page", "csv", "item"]
)
def test_history_has_no_way_to_change_it(admin_client, url):
    for method in ("post", "put", "patch", "delete"):
        assert getattr(admin_client, method)(url).status_code == 405


def test_an_item_s_history_is_404_to_another_organisation(outsider_client, product):
    item = BacklogItemFactory(product=product)
    response = outsider_client.get(reverse("backlog:item_history", args=[item.pk]))
    assert response.status_code == 404


# ---------------------------------------------------------------- what it shows


def test_an_admin_sees_who_changed_what_with_before_and_after(pg, admin_client, owner, product):
    item = BacklogItemFactory(product=product, title="Book a repair", status=ItemStatus.IDEA)
    edit(client_for(owner), item, status=ItemStatus.READY, title="Book a repair online")
    page = admin_client.get(AUDIT)
    assert page.status_code == 200
    entry = page.context["page"].entries[0]
    assert entry.who == owner.get_full_name() or owner.username
    assert entry.subject == "Item “Book a repair online”" and entry.product == "Repairs"
    assert {(c.field, c.before, c.after) for c in entry.changes} == {
        ("Title", "Book a repair", "Book a repair online"),
        ("Status", "Idea", "Ready"),
    }
    html = page.content.decode()
    assert "<del>Book a repair</del> → <ins>Book a repair online</ins>" in html


def test_another_organisation_s_changes_never_appear_in_the_page_or_the_csv(
    pg, admin_client, other_admin_client, owner, outsider, product, other_product
):
    ours = BacklogItemFactory(product=product, title="Riverside plan")
    edit(client_for(owner), ours, title="Riverside secret plan")
    theirs = BacklogItemFactory(product=other_product, title="Elsewhere plan")
    edit(client_for(outsider), theirs, title="Elsewhere secret plan")

    for client, mine, not_mine in (
        (admin_client, "Riverside secret plan", "Elsewhere secret plan"),
        (other_admin_client, "Elsewhere secret plan", "Riverside secret plan"),
    ):
        page = client.get(AUDIT).content.decode()
        assert mine in page and not_mine not in page
        export = "\n".join(",".join(row) for row in csv_rows(client.get(CSV)))
        assert mine in export and not_mine not in export
        # Naming the other organisation's product is a bad filter, not a way in.
        foreign = other_product if client is admin_client else product
        assert client.get(AUDIT, {"product": foreign.pk}).status_code == 400


def test_the_log_is_filtered_by_person_kind_change_product_and_dates(
    pg, admin_client, owner, make_member, organisation, product, cohorts, metrics
):
    other_product = ProductFactory(organisation=organisation, name="Parking")
    analyst = make_member(product=product, roles=[ProductRoleKind.BUSINESS_ANALYST])
    item = BacklogItemFactory(product=product, title="Repairs item")
    parking = BacklogItemFactory(product=other_product, title="Parking item")
    edit(client_for(owner), item, title="Repairs item, renamed")
    edit(admin_client, parking, title="Parking item, renamed")
    with history_context(user=analyst.pk):
        scoring.estimates_save(
            item=item,
            actor=analyst,
            cells=[
                scoring.EstimateCell(
                    cohorts["Citizens"], metrics["Cash saved"], Decimal(5), Confidence.LOW
                )
            ],
        )

    def subjects(**params) -> list[str]:
        response = admin_client.get(AUDIT, params)
        assert response.status_code == 200
        return [e.subject for e in response.context["page"].entries]

    everything = subjects()
    assert "Item “Parking item, renamed”" in everything
    by_analyst = subjects(person=analyst.pk)
    assert by_analyst == [
        "Estimate for “Repairs item, renamed”: Citizens · Cash saved (£ per year)"
    ]
    assert subjects(kind="estimate") == by_analyst
    assert subjects(product=other_product.pk) == [
        "Item “Parking item, renamed”",
        "Item “Parking item”",
        "Product “Parking”",
    ]
    assert subjects(product=other_product.pk, change="update") == ["Item “Parking item, renamed”"]
    assert subjects(change="delete") == []
    today = timezone.localdate()
    assert subjects(start=today.isoformat(), end=today.isoformat()) == everything
    assert subjects(end=(today - timedelta(days=1)).isoformat()) == []
    assert subjects(start=(today + timedelta(days=1)).isoformat()) == []
    # The export takes the same filters.
    rows = csv_rows(admin_client.get(CSV, {"person": analyst.pk}))
    assert rows[0][:3] == ["When", "Who", "Via"]
    assert {row[5] for row in rows[1:]} == set(by_analyst)


@pytest.mark.parametrize(
    "params",
    [
        {"start": "not a date"},
        {"start": "2025-02-30"},
        {"start": "0001-01-01"},
        {"end": "9999-12-31"},
        {"start": "2025-03-02", "end": "2025-03-01"},
        {"person": "99999999999999999999999999"},
        {"person": "abc"},
        {"product": "-1"},
        {"kind": "passwords"},
        {"change": "truncate"},
        {"page": "0"},
        {"page": "9" * 40},
        {"start": "2025-01-01\u202e"},
    ],
)
def test_bad_filters_get_a_clear_400_on_the_page_and_the_export(admin_client, params):
    page = admin_client.get(AUDIT, params)
    assert page.status_code == 400
    assert "There is a problem with the filters" in page.content.decode()
    export = admin_client.get(CSV, params)
    assert export.status_code == 400
    assert export.content.decode().startswith("The export was not made: ")


def test_the_log_is_paged_newest_first(pg, admin_client, owner, product):
    items = BacklogItemFactory.create_batch(3, product=product)
    with history_context(user=owner.pk):
        for n in range(55):
            BacklogItem.objects.filter(pk=items[n % 3].pk).update(title=f"Title {n}")
    first = admin_client.get(AUDIT, {"change": "update"}).context["page"]
    assert len(first.entries) == 50 and first.has_next
    assert first.entries[0].subject == "Item “Title 54”"
    second = admin_client.get(AUDIT, {"change": "update", "page": 2}).context["page"]
    assert [e.subject for e in second.entries] == [
        "Item “Title 4”",
        "Item “Title 3”",
        "Item “Title 2”",
        "Item “Title 1”",
        "Item “Title 0”",
    ]
    assert not second.has_next
    html = admin_client.get(AUDIT, {"page": 2, "kind": "item"}).content.decode()
    assert 'href="/organisation/audit/?kind=item&amp;page=1"' in html


def test_the_csv_is_a_streamed_download_whose_cells_cannot_run_as_formulas(
    pg, admin_client, owner, product
):
    item = BacklogItemFactory(product=product, title="Harmless")
    edit(client_for(owner), item, title='=HYPERLINK("http://evil.example","Click")')
    edit(client_for(owner), item, title="@SUM(A1)", description="+1\n-2")
    response = admin_client.get(CSV)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="riverside-test-audit-log.csv"'
    cells = [cell for row in csv_rows(response) for cell in row]
    assert '\'=HYPERLINK("http://evil.example","Click")' in cells
    assert "'@SUM(A1)" in cells and "'+1\n-2" in cells
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells)


# ---------------------------------------------------------------- costs


def test_the_audit_page_costs_the_same_queries_whatever_the_number_of_people_and_items(
    pg, admin_client, owner, make_member, product, cohorts, metrics
):
    """Guards against a query per entry: per person, per item, per cohort or per event
    looked up for its "before" values. A round of changes is six events of four kinds, so
    from ten rounds on the page of fifty shows the same kinds, each from more rows."""

    def changes(n: int) -> None:
        for i in range(n):
            person = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
            item = BacklogItemFactory(product=product)
            with history_context(user=person.pk):
                BacklogItem.objects.filter(pk=item.pk).update(status=ItemStatus.READY)
                scoring.estimates_save(
                    item=item,
                    actor=person,
                    cells=[
                        scoring.EstimateCell(
                            cohorts["Citizens"], metrics["Cash saved"], Decimal(i + 1)
                        )
                    ],
                )
                services.item_pin(item=item, actor=person, pinned=True)

    changes(10)
    few = count_get_queries(admin_client, AUDIT)
    changes(30)
    assert count_get_queries(admin_client, AUDIT) == few


def test_the_item_page_costs_the_same_queries_whatever_the_item_s_history(
    pg, owner_client, owner, product, cohorts, metrics
):
    """Guards against the item's latest changes costing a query per change or per person."""
    item = BacklogItemFactory(product=product)
    url = reverse("backlog:item_detail", args=[item.pk])

    def changes(start: int, stop: int) -> None:
        for n in range(start, stop):
            edit(owner_client, item, title=f"Renamed {n}", effort=str(n + 1))
            with history_context(user=owner.pk):
                scoring.estimates_save(
                    item=item,
                    actor=owner,
                    cells=[
                        scoring.EstimateCell(
                            cohorts["Leaders"], metrics["Satisfaction"], Decimal(n + 1)
                        )
                    ],
                )

    changes(0, 1)
    few = count_get_queries(owner_client, url)
    changes(1, 30)
    with CaptureQueriesContext(connection) as ctx:
        response = owner_client.get(url)
    assert len(ctx.captured_queries) == few
    changes = response.context["changes"]
    assert len(changes.entries) == 10 and changes.has_next
    assert reverse("backlog:item_history", args=[item.pk]) in response.content.decode()


def test_the_item_history_page_lists_every_change_to_the_item(pg, viewer_client, owner, product):
    item = BacklogItemFactory(product=product, title="First")
    for n in range(12):
        edit(client_for(owner), item, title=f"Title {n}")
    response = viewer_client.get(reverse("backlog:item_history", args=[item.pk]))
    assert response.status_code == 200
    entries = response.context["page"].entries
    assert [e.subject for e in entries][:2] == ["Item “Title 11”", "Item “Title 10”"]
    assert len(entries) == 13 and entries[-1].action == "Created"
    assert entries[-2].changes == [audit.Change("Title", "First", "Title 0")]
