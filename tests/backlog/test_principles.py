"""Technology principles: the organisation's list (admins add, edit, reorder, archive),
an item's checks against them (one form, all or nothing), and the backlog's count and
filter of open items with unanswered or failing principles."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from backlog import services
from backlog.models import (
    DEFAULT_PRINCIPLES,
    ItemEvent,
    ItemPrincipleCheck,
    ItemStatus,
    Principle,
    PrincipleAnswer,
)
from backlog.selectors_principles import principles_summary
from backlog.services.principles import Answer
from tests.conftest import HTMX, client_for, count_get_queries
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db

LIST = reverse("backlog:principle_list")
CREATE = reverse("backlog:principle_create")
MEETS, DOES_NOT, N_A = (
    PrincipleAnswer.MEETS,
    PrincipleAnswer.DOES_NOT,
    PrincipleAnswer.NOT_APPLICABLE,
)


@pytest.fixture
def principles(organisation) -> list[Principle]:
    return list(organisation.principles.order_by("position"))


@pytest.fixture
def admin_client(make_member):
    return client_for(make_member(admin=True))


@pytest.fixture
def member_client(make_member):
    return client_for(make_member())


@pytest.fixture
def item(product):
    return BacklogItemFactory(product=product, title="Report a repair online")


def names(organisation) -> list[str]:
    return list(
        organisation.principles.filter(archived_at__isnull=True)
        .order_by("position", "name")
        .values_list("name", flat=True)
    )


def answer_all(item, principles, answer=MEETS) -> None:
    services.principle_check_set(
        item=item, answers={p.pk: Answer(answer) for p in principles}, by=None
    )


# ---------------------------------------------------------------- the organisation's list


def test_every_member_reads_the_six_default_principles(member_client, organisation):
    response = member_client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    for principle in DEFAULT_PRINCIPLES:
        assert principle["name"] in html
    assert CREATE not in html and "Archive" not in html


def test_an_admin_sees_how_to_add_edit_move_and_archive(admin_client, principles):
    html = admin_client.get(LIST).content.decode()
    assert CREATE in html
    assert reverse("backlog:principle_edit", args=[principles[0].pk]) in html
    assert reverse("backlog:principle_archive", args=[principles[0].pk]) in html
    # The first cannot move up, the last cannot move down.
    first_up = f'action="{reverse("backlog:principle_move", args=[principles[0].pk])}"'
    assert html.count(first_up) == 1


def test_an_admin_adds_a_principle_after_the_others(admin_client, organisation):
    response = admin_client.post(
        CREATE, {"name": "Open source", "description": "Code in the open."}
    )
    assert response.status_code == 302
    assert names(organisation)[-1] == "Open source"


def test_a_name_already_used_is_refused_with_a_clear_message(admin_client, organisation):
    response = admin_client.post(CREATE, {"name": "cloud NATIVE"})
    assert response.status_code == 422
    assert "already has a principle called “cloud NATIVE”" in response.content.decode()
    assert organisation.principles.count() == len(DEFAULT_PRINCIPLES)


@pytest.mark.parametrize("name", ["", "  ", "x" * 81])
def test_a_missing_or_overlong_name_is_refused(admin_client, organisation, name):
    assert admin_client.post(CREATE, {"name": name}).status_code == 422
    assert organisation.principles.count() == len(DEFAULT_PRINCIPLES)


def test_an_admin_edits_a_principle(admin_client, principles):
    url = reverse("backlog:principle_edit", args=[principles[0].pk])
    response = admin_client.post(url, {"name": "Cloud first", "description": "Public cloud."})
    assert response.status_code == 302
    principles[0].refresh_from_db()
    assert (principles[0].name, principles[0].description) == ("Cloud first", "Public cloud.")


def test_members_may_not_change_principles(owner_client, principles, organisation):
    pk = principles[0].pk
    assert owner_client.post(CREATE, {"name": "Mine"}).status_code == 403
    for name, data in (
        ("backlog:principle_edit", {"name": "Renamed"}),
        ("backlog:principle_move", {"direction": "down"}),
        ("backlog:principle_archive", {}),
        ("backlog:principle_restore", {}),
    ):
        assert owner_client.post(reverse(name, args=[pk]), data).status_code == 403
    assert names(organisation) == [p["name"] for p in DEFAULT_PRINCIPLES]


def test_another_organisations_principle_is_not_found(
    outsider_client, other_organisation, principles
):
    from tests.factories import MembershipFactory, UserFactory

    their_admin = UserFactory()
    MembershipFactory(user=their_admin, organisation=other_organisation, role="admin")
    client = client_for(their_admin)
    pk = principles[0].pk
    assert client.get(reverse("backlog:principle_edit", args=[pk])).status_code == 404
    for name in ("backlog:principle_move", "backlog:principle_archive"):
        assert client.post(reverse(name, args=[pk]), {"direction": "up"}).status_code == 404
    assert "Riverside" not in client.get(LIST).content.decode()


def test_moving_a_principle_swaps_it_with_its_neighbour_and_htmx_gets_the_list(
    admin_client, organisation, principles
):
    url = reverse("backlog:principle_move", args=[principles[0].pk])
    response = admin_client.post(url, {"direction": "down"}, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="principle-list">')
    assert names(organisation)[:2] == ["Mobile ready", "Cloud native"]
    admin_client.post(url, {"direction": "up"})
    assert names(organisation)[:2] == ["Cloud native", "Mobile ready"]
    # The top one moved up stays put; a bad direction changes nothing.
    admin_client.post(url, {"direction": "up"})
    response = admin_client.post(url, {"direction": "sideways"}, **HTMX)
    assert "Move a principle up or down." in response.content.decode()
    assert names(organisation) == [p["name"] for p in DEFAULT_PRINCIPLES]


def test_an_archived_principle_is_no_longer_asked_and_can_be_restored(
    admin_client, owner_client, organisation, principles, item
):
    cloud = principles[0]
    admin_client.post(reverse("backlog:principle_archive", args=[cloud.pk]))
    cloud.refresh_from_db()
    assert cloud.archived_at is not None and "Cloud native" not in names(organisation)
    page = owner_client.get(reverse("backlog:item_detail", args=[item.pk])).content.decode()
    assert f'name="answer-{cloud.pk}"' not in page
    assert f'name="answer-{principles[1].pk}"' in page
    with pytest.raises(ValidationError):
        services.principle_check_set(item=item, answers={cloud.pk: Answer(MEETS)}, by=None)
    admin_client.post(reverse("backlog:principle_restore", args=[cloud.pk]))
    assert names(organisation)[-1] == "Cloud native"


# ---------------------------------------------------------------- an item's checks


def test_an_editor_answers_the_principles_in_one_form(owner_client, owner, item, principles):
    url = reverse("backlog:item_principles", args=[item.pk])
    data = {f"answer-{p.pk}": MEETS for p in principles[:3]}
    data[f"answer-{principles[3].pk}"] = DOES_NOT
    data[f"note-{principles[3].pk}"] = "  Rebuilds the booking engine.  "
    response = owner_client.post(url, data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="item-principles"')
    assert "Saved the technology principles (4 changed)." in html
    checks = {c.principle_id: (c.answer, c.note) for c in item.principle_checks.all()}
    assert checks[principles[3].pk] == (DOES_NOT, "Rebuilds the booking engine.")
    assert len(checks) == 4
    event = ItemEvent.objects.filter(item=item).latest("pk")
    assert event.actor == owner and event.data == {"changes": ["technology principles"]}


def test_saving_the_same_answers_again_changes_nothing(owner_client, item, principles):
    url = reverse("backlog:item_principles", args=[item.pk])
    data = {f"answer-{principles[0].pk}": N_A}
    owner_client.post(url, data)
    response = owner_client.post(url, data, **HTMX)
    assert "(0 changed)" in response.content.decode()


def test_clearing_an_answer_removes_the_check(owner_client, item, principles):
    answer_all(item, principles[:2])
    url = reverse("backlog:item_principles", args=[item.pk])
    response = owner_client.post(url, {f"answer-{principles[0].pk}": MEETS})
    assert response.status_code == 302
    assert list(item.principle_checks.values_list("principle_id", flat=True)) == [principles[0].pk]


@pytest.mark.parametrize(
    "bad",
    [
        {"answer": "maybe"},
        {"answer": "", "note": "A note with no answer"},
        {"answer": MEETS, "note": "x" * 2001},
    ],
)
def test_bad_input_saves_nothing_and_says_why(owner_client, item, principles, bad):
    url = reverse("backlog:item_principles", args=[item.pk])
    data = {f"answer-{principles[0].pk}": MEETS}  # valid, but not saved alone
    data[f"answer-{principles[1].pk}"] = bad["answer"]
    data[f"note-{principles[1].pk}"] = bad.get("note", "")
    response = owner_client.post(url, data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "There is a problem" in html
    assert "Nothing was saved." in html
    assert not ItemPrincipleCheck.objects.exists()
    # Without JavaScript: the form on a page of its own, 422.
    page = owner_client.post(url, data)
    assert page.status_code == 422 and "There is a problem" in page.content.decode()


def test_the_service_refuses_another_organisations_principle_and_writes_nothing(
    item, principles, other_organisation
):
    theirs = other_organisation.principles.first()
    answers = {principles[0].pk: Answer(MEETS), theirs.pk: Answer(MEETS)}
    with pytest.raises(ValidationError):
        services.principle_check_set(item=item, answers=answers, by=None)
    with pytest.raises(ValidationError):
        services.principle_check_set(item=item, answers={principles[0].pk: Answer("x")}, by=None)
    assert not ItemPrincipleCheck.objects.exists()


def test_others_read_the_answers_and_may_not_change_them(viewer_client, item, principles):
    services.principle_check_set(
        item=item, answers={principles[0].pk: Answer(DOES_NOT, "On premises")}, by=None
    )
    page = viewer_client.get(reverse("backlog:item_detail", args=[item.pk])).content.decode()
    assert "Technology principles" in page and "On premises" in page and "Does not meet" in page
    assert "Not answered" in page and "<form" not in page.split('id="item-principles"')[1]
    url = reverse("backlog:item_principles", args=[item.pk])
    assert viewer_client.post(url, {f"answer-{principles[1].pk}": MEETS}).status_code == 403
    assert item.principle_checks.count() == 1


def test_another_organisations_item_is_not_found(outsider_client, item, principles):
    url = reverse("backlog:item_principles", args=[item.pk])
    assert outsider_client.post(url, {f"answer-{principles[0].pk}": MEETS}).status_code == 404


def test_the_item_page_costs_the_same_queries_whatever_the_number_of_principles(
    owner_client, item, organisation, principles
):
    """Guards against a query per principle for the item's answer."""
    url = reverse("backlog:item_detail", args=[item.pk])
    answer_all(item, principles)
    few = count_get_queries(owner_client, url)
    for n in range(10):
        services.principle_create(organisation=organisation, name=f"Principle {n}")
    answer_all(item, organisation.principles.all())
    assert count_get_queries(owner_client, url) == few


# ---------------------------------------------------------------- the backlog's count and filter


@pytest.fixture
def checked_backlog(product, principles):
    """Open items: one answering everything (meets), one failing one, one half answered,
    one untouched; and a done item left unanswered (not counted)."""
    complete = BacklogItemFactory(product=product, title="Answered everything")
    answer_all(complete, principles)
    failing = BacklogItemFactory(product=product, title="Fails security")
    answer_all(failing, principles)
    services.principle_check_set(
        item=failing, answers={principles[5].pk: Answer(DOES_NOT)}, by=None
    )
    half = BacklogItemFactory(product=product, title="Half answered")
    answer_all(half, principles[:3], answer=N_A)
    untouched = BacklogItemFactory(product=product, title="Untouched")
    done = BacklogItemFactory(product=product, title="Done already", status=ItemStatus.DONE)
    return {
        "complete": complete,
        "failing": failing,
        "half": half,
        "untouched": untouched,
        "done": done,
    }


def test_the_summary_counts_open_items_unanswered_and_failing(product, checked_backlog):
    summary = principles_summary(product=product)
    assert (summary.active, summary.unanswered, summary.failing) == (6, 2, 1)


def test_an_archived_principle_no_longer_counts(product, principles, checked_backlog):
    services.principle_archive(principle=principles[5])  # the failed one
    for principle in principles[3:5]:
        services.principle_archive(principle=principle)
    summary = principles_summary(product=product)
    assert (summary.active, summary.unanswered, summary.failing) == (3, 1, 0)


def test_the_backlog_page_loads_the_counts_with_links_to_the_filter(
    viewer_client, product, checked_backlog
):
    url = reverse("backlog:product_backlog", args=[product.pk])
    page = viewer_client.get(url).content.decode()
    assert 'id="principles-summary"' in page and 'hx-trigger="load"' in page
    assert f"{url}?principles=unanswered" in page  # works without JavaScript too
    fragment = viewer_client.get(url, HTTP_HX_TARGET="principles-summary", **HTMX)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment.content.decode()))
    assert "2 open items have unanswered principles; 1 open item fails at least one." in text
    assert "hx-get" not in fragment.content.decode()
    assert f"{url}?principles=failing" in fragment.content.decode()


@pytest.mark.parametrize(
    ("which", "expected"),
    [("unanswered", ["Half answered", "Untouched"]), ("failing", ["Fails security"])],
)
def test_the_backlog_filters_open_items_by_their_principles(
    viewer_client, product, checked_backlog, which, expected
):
    url = reverse("backlog:product_backlog", args=[product.pk])
    html = viewer_client.get(url, {"principles": which}).content.decode()
    titles = ("Answered everything", "Fails security", "Half answered", "Untouched", "Done already")
    shown = [title for title in titles if title in html]
    assert shown == expected


def test_a_bad_principles_filter_is_a_page_not_an_error(viewer_client, product):
    url = reverse("backlog:product_backlog", args=[product.pk])
    assert viewer_client.get(url, {"principles": "<script>"}).status_code == 200


@pytest.mark.parametrize("which", ["unanswered", "failing"])
def test_the_principles_filtered_backlog_and_the_counts_cost_the_same_queries_as_it_grows(
    owner_client, product, principles, which
):
    """Guards against a query per row (or per principle) for the checks: 10 and 400 items
    take the same queries, for the filtered page and for the counts."""
    url = reverse("backlog:product_backlog", args=[product.pk])

    def add(n: int) -> None:
        for index, item in enumerate(BacklogItemFactory.create_batch(n, product=product)):
            if index % 2:
                answer_all(item, principles[:4], answer=DOES_NOT)

    add(10)
    few = count_get_queries(owner_client, url, {"principles": which})
    few_counts = _count_summary_queries(owner_client, url)
    add(390)
    assert count_get_queries(owner_client, url, {"principles": which}) == few
    assert _count_summary_queries(owner_client, url) == few_counts
    assert principles_summary(product=product).unanswered == 400


def _count_summary_queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, HTTP_HX_TARGET="principles-summary", **HTMX)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# ---------------------------------------------------------------- hostile input


def test_nul_bytes_and_huge_ids_are_refused_never_a_500(
    admin_client, owner_client, item, principles, product
):
    """A NUL byte is refused before the view (400, the app's middleware) or by the form
    (422); an id past any integer column is not found; nothing is written."""
    refused = (400, 422)
    assert admin_client.post(CREATE, {"name": "Cloud\x00"}).status_code in refused
    capability_create = reverse("backlog:capability_create")
    assert admin_client.post(capability_create, {"name": "A\x00"}).status_code in refused
    url = reverse("backlog:item_principles", args=[item.pk])
    data = {f"answer-{principles[0].pk}": MEETS, f"note-{principles[0].pk}": "x\x00"}
    assert owner_client.post(url, data).status_code in refused
    assert not ItemPrincipleCheck.objects.exists()
    assert organisation_principle_count(item) == len(DEFAULT_PRINCIPLES)
    huge = 10**20
    assert admin_client.get(reverse("backlog:principle_edit", args=[huge])).status_code == 404
    assert admin_client.get(reverse("backlog:capability_detail", args=[huge])).status_code == 404
    backlog = reverse("backlog:product_backlog", args=[product.pk])
    assert owner_client.get(backlog, {"capability": str(huge)}).status_code == 200
    assert owner_client.get(backlog, {"principles": "\x00"}).status_code in (200, 400)


def organisation_principle_count(item) -> int:
    return Principle.objects.filter(organisation=item.product.organisation).count()
