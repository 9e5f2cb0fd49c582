"""Show-and-tell: one session per product per week across time zones and clock changes,
go-live signatures (who may sign, forgery, withdrawal, concurrency), decisions, digest."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from backlog.models import BacklogItem, GoLiveSignature, ItemStatus, ProductRoleKind, ShowAndTell
from backlog.services import sessions
from backlog.tasks import create_due_show_and_tells, send_show_and_tell_digest
from tests.conftest import client_for, require_postgresql
from tests.factories import BacklogItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

ROLES = [
    ProductRoleKind.SPONSOR,
    ProductRoleKind.BUSINESS_ANALYST,
    ProductRoleKind.LEAD_ENGINEER,
    ProductRoleKind.DELIVERY_LEAD,
]


@pytest.fixture
def amigos(make_member, product):
    return {role: make_member(product=product, roles=[role]) for role in ROLES}


@pytest.fixture
def session(product):
    made, _ = sessions.session_for_week(product=product, day=sessions.local_today(product))
    return made


@pytest.fixture
def done_item(product):
    return BacklogItemFactory(product=product, status=ItemStatus.DONE, done_at=timezone.now())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_beat_task_creates_one_session_per_product_per_week(product):
    """Friday 10:00 UTC (a Friday in London too): created once, however often it runs."""
    friday = at("2026-11-20T10:00")
    assert len(sessions.sessions_create_due(now=friday)) == 1
    assert sessions.sessions_create_due(now=friday) == []
    assert sessions.sessions_create_due(now=friday + timedelta(hours=5)) == []
    assert ShowAndTell.objects.get(product=product).date == date(2026, 11, 20)
    assert sessions.sessions_create_due(now=friday + timedelta(days=7)) != []
    assert ShowAndTell.objects.filter(product=product).count() == 2


def test_the_weekday_is_the_organisations_not_the_servers(product, organisation):
    """Thursday 23:30 UTC is already Friday in Auckland (UTC+13 in November)."""
    organisation.time_zone = "Pacific/Auckland"
    organisation.save()
    created = sessions.sessions_create_due(now=at("2026-11-19T23:30"))
    assert len(created) == 1
    assert ShowAndTell.objects.get(pk=created[0]).date == date(2026, 11, 20)
    # Friday 12:00 UTC is Saturday in Auckland: no second session for that week.
    assert sessions.sessions_create_due(now=at("2026-11-20T12:00")) == []


def test_clock_changes_neither_skip_nor_double_a_week(product):
    """London goes back an hour on Sunday 25 October 2026 and forward on 29 March 2026.
    Run hourly across both weeks: exactly one session in each week."""
    for start in (at("2026-10-19T00:00"), at("2026-03-23T00:00")):
        hour = start
        while hour < start + timedelta(days=14):
            sessions.sessions_create_due(now=hour)
            hour += timedelta(hours=1)
    weeks = list(ShowAndTell.objects.filter(product=product).values_list("week_start", flat=True))
    assert sorted(weeks) == [
        date(2026, 3, 23),
        date(2026, 3, 30),
        date(2026, 10, 19),
        date(2026, 10, 26),
    ]


def test_the_task_is_safe_to_run_twice(product):
    """Today is made the product's day, so the first run must create the session."""
    product.show_and_tell_weekday = sessions.local_today(product).weekday()
    product.save()
    assert len(create_due_show_and_tells()) == 1
    assert create_due_show_and_tells() == []
    assert ShowAndTell.objects.filter(product=product).count() == 1


def test_a_product_with_another_weekday_waits_for_its_day(organisation):
    monday_product = ProductFactory(organisation=organisation, show_and_tell_weekday=0)
    sessions.sessions_create_due(now=at("2026-11-20T10:00"))  # a Friday
    assert not ShowAndTell.objects.filter(product=monday_product).exists()


def test_four_signatures_make_an_item_live_and_each_is_recorded(amigos, done_item, session):
    for role in ROLES[:3]:
        assert not sessions.go_live_sign(
            item=done_item, signer=amigos[role], role=role, session=session
        )
    done_item.refresh_from_db()
    assert done_item.status == ItemStatus.DONE
    assert sessions.go_live_sign(
        item=done_item, signer=amigos[ROLES[3]], role=ROLES[3], session=session
    )
    done_item.refresh_from_db()
    assert done_item.status == ItemStatus.LIVE and done_item.live_at is not None
    kinds = list(done_item.events.values_list("kind", flat=True))
    assert kinds.count("signed") == 4 and kinds.count("went_live") == 1


def test_only_a_holder_of_a_role_can_sign_for_it(amigos, done_item):
    with pytest.raises(PermissionDenied):
        sessions.go_live_sign(
            item=done_item,
            signer=amigos[ProductRoleKind.SPONSOR],
            role=ProductRoleKind.LEAD_ENGINEER,
        )
    with pytest.raises(ValidationError):
        sessions.go_live_sign(
            item=done_item,
            signer=amigos[ProductRoleKind.SPONSOR],
            role=ProductRoleKind.PRODUCT_OWNER,
        )
    assert not GoLiveSignature.objects.exists()


def test_a_signer_can_withdraw_until_the_last_signature_but_not_for_someone_else(amigos, done_item):
    sponsor, analyst = amigos[ProductRoleKind.SPONSOR], amigos[ProductRoleKind.BUSINESS_ANALYST]
    sessions.go_live_sign(item=done_item, signer=sponsor, role=ProductRoleKind.SPONSOR)
    with pytest.raises(PermissionDenied):
        sessions.go_live_withdraw(item=done_item, signer=analyst, role=ProductRoleKind.SPONSOR)
    sessions.go_live_withdraw(item=done_item, signer=sponsor, role=ProductRoleKind.SPONSOR)
    assert not GoLiveSignature.objects.exists()
    for role in ROLES:
        sessions.go_live_sign(item=done_item, signer=amigos[role], role=role)
    with pytest.raises(ValidationError, match="live"):
        sessions.go_live_withdraw(item=done_item, signer=sponsor, role=ProductRoleKind.SPONSOR)


def test_only_done_items_can_be_signed(amigos, product):
    idea = BacklogItemFactory(product=product)
    with pytest.raises(ValidationError, match="done"):
        sessions.go_live_sign(item=idea, signer=amigos[ROLES[0]], role=ROLES[0])


def test_a_signature_cannot_be_forged_through_the_form(amigos, done_item, session):
    """The form names a role; the signer is always the signed-in user, who must hold it."""
    sponsor_client = client_for(amigos[ProductRoleKind.SPONSOR])
    url = reverse("backlog:go_live_sign", args=[session.pk, done_item.pk])
    sponsor_client.post(
        url,
        {"role": ProductRoleKind.DELIVERY_LEAD, "signer": amigos[ProductRoleKind.DELIVERY_LEAD].pk},
    )
    assert not GoLiveSignature.objects.exists()
    sponsor_client.post(
        url, {"role": ProductRoleKind.SPONSOR, "signer": amigos[ProductRoleKind.DELIVERY_LEAD].pk}
    )
    signature = GoLiveSignature.objects.get()
    assert signature.signer == amigos[ProductRoleKind.SPONSOR]


@pytest.mark.django_db(transaction=True)
def test_four_signatures_at_the_same_moment_make_the_item_live_exactly_once(amigos, done_item):
    require_postgresql()
    barrier = threading.Barrier(4)
    outcomes, errors = [], []

    def sign(role) -> None:
        try:
            barrier.wait()
            outcomes.append(sessions.go_live_sign(item=done_item, signer=amigos[role], role=role))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign, args=(role,)) for role in ROLES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(outcomes) == [False, False, False, True]
    done_item.refresh_from_db()
    assert done_item.status == ItemStatus.LIVE
    assert done_item.events.filter(kind="went_live").count() == 1


def test_only_the_products_people_see_its_sessions(
    session, amigos, make_member, outsider_client, product
):
    url = reverse("backlog:session_detail", args=[session.pk])
    assert outsider_client.get(url).status_code == 404
    stranger = client_for(make_member())  # same organisation, no role on the product
    assert stranger.get(url).status_code == 403
    assert stranger.get(reverse("backlog:session_list", args=[product.pk])).status_code == 403
    sponsor = client_for(amigos[ProductRoleKind.SPONSOR])
    assert sponsor.get(url).status_code == 200
    assert (
        sponsor.get(reverse("backlog:session_present", args=[session.pk]) + "?step=3").status_code
        == 200
    )


def test_session_page_shows_each_section_and_serves_fragments(session, amigos, done_item):
    client = client_for(amigos[ProductRoleKind.DELIVERY_LEAD])
    url = reverse("backlog:session_detail", args=[session.pk])
    page = client.get(url)
    for heading in (
        b"1. Done this week",
        b"2. Benefit landed",
        b"3. Next up",
        b"4. Go-live",
        b"5. Decisions",
    ):
        assert heading in page.content
    assert done_item.title.encode() in page.content
    fragment = client.get(url, {"section": "golive"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content and b'id="section-golive"' in fragment.content


def test_only_the_delivery_lead_starts_and_finishes_a_session(amigos, product, session):
    sponsor = client_for(amigos[ProductRoleKind.SPONSOR])
    assert sponsor.post(reverse("backlog:session_start", args=[product.pk])).status_code == 403
    assert sponsor.post(reverse("backlog:session_finish", args=[session.pk])).status_code == 403
    lead = client_for(amigos[ProductRoleKind.DELIVERY_LEAD])
    assert lead.post(reverse("backlog:session_start", args=[product.pk])).status_code == 302
    assert ShowAndTell.objects.filter(product=product).count() == 1


def test_next_up_fits_capacity_and_is_frozen_when_confirmed(session, amigos, product):
    product.weekly_capacity = 10
    product.save()
    first = BacklogItemFactory(product=product, effort=6)
    second = BacklogItemFactory(product=product, effort=4)
    BacklogItemFactory(product=product, effort=3)
    client = client_for(amigos[ProductRoleKind.BUSINESS_ANALYST])
    client.post(reverse("backlog:next_up_confirm", args=[session.pk]))
    session.refresh_from_db()
    assert [row["pk"] for row in session.next_up] == [first.pk, second.pk]
    first.delete()  # later weeks still see what was agreed
    session.refresh_from_db()
    assert session.next_up[0]["title"] == first.title


def test_decisions_need_text_and_actions_need_an_owner(session, amigos):
    lead = amigos[ProductRoleKind.DELIVERY_LEAD]
    with pytest.raises(ValidationError):
        sessions.decision_add(session=session, actor=lead, kind="action", text="Write the guide")
    with pytest.raises(ValidationError):
        sessions.decision_add(session=session, actor=lead, kind="decision", text="  ")
    decision = sessions.decision_add(
        session=session,
        actor=lead,
        kind="action",
        text="Write the guide",
        owner=lead,
        agreed_by=[amigos[ProductRoleKind.SPONSOR]],
    )
    assert list(decision.agreed_by.all()) == [amigos[ProductRoleKind.SPONSOR]]


def test_finishing_sends_one_digest_after_commit(
    session, amigos, done_item, django_capture_on_commit_callbacks
):
    for user in amigos.values():
        user.email = f"{user.username}@example.org"
        user.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sessions.session_finish(session=session, actor=amigos[ProductRoleKind.DELIVERY_LEAD])
    assert len(callbacks) == 1 and not mail.outbox
    assert send_show_and_tell_digest(session_id=session.pk) is True
    assert send_show_and_tell_digest(session_id=session.pk) is False  # never twice
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == sorted(u.email for u in amigos.values())
    html = message.alternatives[0][0]
    assert done_item.title in html and "Next up" in html


def test_a_finished_session_is_a_read_only_record(session, amigos):
    sessions.session_finish(session=session, actor=amigos[ProductRoleKind.DELIVERY_LEAD])
    with pytest.raises(ValidationError, match="finished"):
        sessions.decision_add(
            session=session,
            actor=amigos[ProductRoleKind.DELIVERY_LEAD],
            kind="decision",
            text="Late",
        )
    page = client_for(amigos[ProductRoleKind.SPONSOR]).get(
        reverse("backlog:session_detail", args=[session.pk])
    )
    assert b"read-only record" in page.content and b"Record</button>" not in page.content


def test_session_page_query_count_does_not_grow_with_done_items(
    session, amigos, product, django_assert_max_num_queries
):
    """Guards against a query per done item (who did it, estimates) or per go-live item."""
    now = timezone.now()
    BacklogItem.objects.bulk_create(
        BacklogItem(
            product=product, title=f"Done {n}", status="done", done_at=now, rank_key=f"b{n:04d}"
        )
        for n in range(200)
    )
    client = client_for(amigos[ProductRoleKind.SPONSOR])
    with django_assert_max_num_queries(26):
        assert client.get(reverse("backlog:session_detail", args=[session.pk])).status_code == 200


def test_consecutive_sessions_never_count_a_day_twice(product, amigos):
    """Work finished on show-and-tell day belongs to that session, not the next one."""
    first, _ = sessions.session_for_week(product=product, day=date(2026, 11, 13))
    second, _ = sessions.session_for_week(product=product, day=date(2026, 11, 20))
    from backlog.showandtell import window

    first_span, second_span = window(first), window(second)
    assert first_span.end == second_span.start
    assert (first_span.end - first_span.start).days == 7
    # Only the latest session may run on past the end of its day.
    assert first_span.end.date() == date(2026, 11, 14)


def test_a_finished_session_takes_no_signatures(session, amigos, done_item):
    sessions.session_finish(session=session, actor=amigos[ProductRoleKind.DELIVERY_LEAD])
    sponsor = client_for(amigos[ProductRoleKind.SPONSOR])
    url = reverse("backlog:go_live_sign", args=[session.pk, done_item.pk])
    assert sponsor.post(url, {"role": ProductRoleKind.SPONSOR}).status_code == 403
    assert not GoLiveSignature.objects.exists()


def test_only_the_leads_confirm_next_up_and_record_decisions(
    session, make_member, product, outsider_client
):
    viewer = client_for(make_member(product=product, roles=[ProductRoleKind.VIEWER]))
    confirm = reverse("backlog:next_up_confirm", args=[session.pk])
    decide = reverse("backlog:decision_add", args=[session.pk])
    data = {"kind": "decision", "text": "Ship it"}
    assert viewer.post(confirm).status_code == 403
    assert viewer.post(decide, data).status_code == 403
    assert outsider_client.post(confirm).status_code == 404
    assert outsider_client.post(decide, data).status_code == 404
    session.refresh_from_db()
    assert session.next_up_confirmed_at is None and not session.decisions.exists()


def test_a_finished_session_refuses_signatures_whoever_calls(session, amigos, done_item):
    sessions.session_finish(session=session, actor=amigos[ProductRoleKind.DELIVERY_LEAD])
    sponsor = amigos[ProductRoleKind.SPONSOR]
    with pytest.raises(PermissionDenied, match="read-only"):
        sessions.go_live_sign(
            item=done_item, signer=sponsor, role=ProductRoleKind.SPONSOR, session=session
        )
    with pytest.raises(PermissionDenied, match="read-only"):
        sessions.go_live_withdraw(
            item=done_item, signer=sponsor, role=ProductRoleKind.SPONSOR, session=session
        )


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://evil.example/"])
def test_after_an_action_the_page_never_redirects_off_site(session, amigos, target):
    lead = client_for(amigos[ProductRoleKind.DELIVERY_LEAD])
    response = lead.post(
        reverse("backlog:decision_add", args=[session.pk]),
        {"kind": "decision", "text": "Go", "next": target},
    )
    assert response.status_code == 302
    assert response.url == reverse("backlog:session_detail", args=[session.pk])


def test_next_up_shows_the_place_each_item_took_in_the_last_closed_vote(
    session, product, owner, make_member
):
    from prioritisation import services as voting_services
    from tests.factories import give_score_ranks, open_round

    first, second = (BacklogItemFactory(product=product, effort=1) for _ in range(2))
    give_score_ranks([first, second])
    round = open_round(product, owner, method="borda", shortlist_size=2)
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    voting_services.ballot_submit(round=round, voter=voter, ranking=[[second.pk], [first.pk]])
    from backlog.showandtell import next_up

    assert {row.pk: row.vote_rank for row in next_up(session)[0]} == {
        first.pk: None,
        second.pk: None,
    }
    voting_services.round_close(round_id=round.pk)  # only a decided vote counts here
    assert {row.pk: row.vote_rank for row in next_up(session)[0]} == {first.pk: 2, second.pk: 1}


def test_a_finished_session_is_a_fixed_record_whatever_happens_to_its_items(
    session, amigos, product, done_item, metrics, cohorts
):
    """Finish with one item done, then finish another, estimate it, sign for the first and
    rename it: the page, the API and the digest still say what was true at the finish."""
    from prioritisation.services import EstimateCell, estimates_save

    lead = amigos[ProductRoleKind.DELIVERY_LEAD]
    done_item.effort = 3
    done_item.save()
    sessions.decision_add(session=session, actor=lead, kind="decision", text="Ship the form")
    waiting = BacklogItemFactory(product=product, title="Still open", effort=5)
    sessions.session_finish(session=session, actor=lead)
    sponsor = client_for(amigos[ProductRoleKind.SPONSOR])
    url = reverse("backlog:session_detail", args=[session.pk])
    api_url = reverse("api:session_detail", args=[session.pk])
    before_page = sponsor.get(url).content
    before_api = sponsor.get(api_url).json()
    assert "1</strong> item reached done or live, 3 points" in before_page.decode()

    BacklogItem.objects.filter(pk=waiting.pk).update(
        status=ItemStatus.DONE, done_at=timezone.now(), effort=8
    )
    estimates_save(
        item=waiting,
        actor=lead,
        cells=[EstimateCell(cohorts["Citizens"], metrics["Cash saved"], Decimal(1000))],
    )
    sessions.go_live_sign(
        item=done_item, signer=amigos[ProductRoleKind.SPONSOR], role=ProductRoleKind.SPONSOR
    )
    BacklogItem.objects.filter(pk=done_item.pk).update(title="Renamed afterwards")

    after_page = sponsor.get(url).content
    assert _main(after_page) == _main(before_page)
    assert sponsor.get(api_url).json() == before_api
    assert before_api["done_count"] == 1 and before_api["done_effort"] == "3.0"
    assert [d["text"] for d in before_api["decisions"]] == ["Ship the form"]
    assert before_api["go_live"][0]["signatures"]["sponsor"] is None
    for user in amigos.values():
        user.email = f"{user.username}@example.org"
        user.save()
    assert send_show_and_tell_digest(session_id=session.pk) is True
    html = mail.outbox[0].alternatives[0][0]
    assert done_item.title in html and "Renamed afterwards" not in html


def _main(page: bytes) -> str:
    """The page's main content, without the per-request CSRF tokens."""
    html = page.decode()
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", main)


def test_finishing_twice_at_once_freezes_one_record(session, amigos):
    lead = amigos[ProductRoleKind.DELIVERY_LEAD]
    first = sessions.session_finish(session=session, actor=lead)
    stale = ShowAndTell.objects.get(pk=session.pk)
    stale.finished_at = None  # a second request that read the session before the first finished
    again = sessions.session_finish(session=stale, actor=lead)
    assert again.finished_at == first.finished_at
    assert again.record == ShowAndTell.objects.get(pk=session.pk).record


def test_the_digests_plain_text_has_a_line_per_item_aligned_columns_and_words_as_written(
    session, amigos, product, cohorts, metrics
):
    """Before: the text part was the HTML with its tags stripped, so list items and table
    cells ran together and people's words arrived escaped (``&lt;b&gt;``)."""
    from prioritisation.services import EstimateCell, estimates_save

    lead = amigos[ProductRoleKind.DELIVERY_LEAD]
    for user in amigos.values():
        user.email = f"{user.username}@example.org"
        user.save()
    first = BacklogItemFactory(product=product, title="Claimant <survey>", status=ItemStatus.DONE)
    second = BacklogItemFactory(product=product, title="Repairs form", status=ItemStatus.DONE)
    BacklogItem.objects.filter(pk__in=[first.pk, second.pk]).update(done_at=timezone.now())
    estimates_save(
        item=first,
        actor=lead,
        cells=[
            EstimateCell(cohorts["Citizens"], metrics["Cash saved"], Decimal(149600)),
            EstimateCell(cohorts["Colleagues"], metrics["Staff hours saved"], Decimal("12.5")),
        ],
    )
    sessions.decision_add(
        session=session, actor=lead, kind="action", text="Tell <b>everyone</b> & more", owner=lead
    )
    sessions.session_finish(session=session, actor=lead)
    assert send_show_and_tell_digest(session_id=session.pk) is True
    lines = mail.outbox[0].body.splitlines()
    assert "  - Claimant <survey> (done), by —" in lines
    assert "  - Repairs form (done), by —" in lines
    assert any(
        line.startswith("  - Action: Tell <b>everyone</b> & more (owner: ") for line in lines
    )
    assert not any("&lt;" in line or "&amp;" in line for line in lines)
    start = lines.index("Benefit landed") + 1
    table = lines[start : lines.index("", start)]
    header, cash, hours = table
    assert header.split() == ["Metric", "Citizens", "Colleagues", "Total"]
    assert cash.split()[-3:] == ["149,600", "0", "149,600"]
    assert hours.split()[-3:] == ["0", "12.50", "12.50"]
    # Right-aligned columns: every row's numbers end where the header's names end.
    ends = [m.end() for m in re.finditer(r"\S+", header)][1:]
    for row in (cash, hours):
        assert [m.end() for m in re.finditer(r"\S+", row)][-3:] == ends


# ------------------------------------------------------------ the first hour (issue 10)


def _finish_url(session) -> str:
    return reverse("backlog:session_finish", args=[session.pk])


def test_starting_this_weeks_session_after_it_finished_offers_next_weeks_instead(
    amigos, product, session
):
    """Before: the button took the delivery lead back to the finished session, saying
    nothing."""
    lead = amigos[ProductRoleKind.DELIVERY_LEAD]
    sessions.session_finish(session=session, actor=lead)
    client = client_for(lead)
    list_url = reverse("backlog:session_list", args=[product.pk])
    page = client.get(list_url).content.decode()
    detail = reverse("backlog:session_detail", args=[session.pk])
    assert re.search(rf"This week's session.*href=\"{detail}\".*is finished", page)
    next_day = session.week_start + timedelta(days=7 + product.show_and_tell_weekday)
    label = f"Start next week's session, {next_day:%A} {next_day.day} {next_day:%B}"
    assert label in page and "Start this week's session" not in page

    # A stale page's "this week" button says so rather than reopening the finished one.
    stale = client.post(reverse("backlog:session_start", args=[product.pk]), follow=True)
    assert stale.redirect_chain[-1][0] == list_url
    assert "is finished" in stale.content.decode()
    assert ShowAndTell.objects.filter(product=product).count() == 1

    response = client.post(reverse("backlog:session_start", args=[product.pk]), {"week": "next"})
    started = ShowAndTell.objects.exclude(pk=session.pk).get(product=product)
    assert started.date == next_day and started.finished_at is None
    assert response.url == reverse("backlog:session_detail", args=[started.pk])


def _with_emails(users) -> None:
    for user in users:
        user.email = f"{user.username}@example.org"
        user.save()


def test_finishing_asks_first_and_names_who_the_digest_goes_to(
    session, amigos, make_member, product
):
    """Before: one click finished the session and e-mailed everyone, without a question.
    Who is named comes from the digest's own list: an inactive person or one with no
    address is neither named nor sent to."""
    _with_emails(amigos.values())
    gone = make_member(product=product, roles=[ProductRoleKind.VIEWER])
    gone.email, gone.is_active = "gone@example.org", False
    gone.save()
    no_address = make_member(product=product, roles=[ProductRoleKind.KEY_USER])
    no_address.email = ""
    no_address.save()
    lead = client_for(amigos[ProductRoleKind.DELIVERY_LEAD])
    names = [u.get_full_name() or u.username for u in amigos.values()]

    page = lead.get(reverse("backlog:session_detail", args=[session.pk])).content.decode()
    confirm = re.search(r'hx-confirm="([^"]*)"', page)
    assert confirm and "the 4 people on this product" in confirm.group(1)
    assert all(name in confirm.group(1) for name in names)
    assert "gone@example.org" not in page

    # Without JavaScript the button opens a confirm step; a POST without the confirmation
    # shows the same step and finishes nothing.
    for step in (lead.get(_finish_url(session)), lead.post(_finish_url(session))):
        assert step.status_code == 200
        text = step.content.decode()
        assert "the 4 people on this product" in text
        assert all(f"{u.username}@example.org" in text for u in amigos.values())
        assert "gone@example.org" not in text and no_address.username not in text
    session.refresh_from_db()
    assert session.finished_at is None

    done = lead.post(_finish_url(session), {"confirmed": "yes"})
    assert done.status_code == 302
    session.refresh_from_db()
    assert session.finished_at is not None
    assert send_show_and_tell_digest(session_id=session.pk) is True
    assert sorted(mail.outbox[0].to) == sorted(f"{u.username}@example.org" for u in amigos.values())


def test_finishing_from_htmx_after_the_browsers_confirm_goes_back_to_the_record(session, amigos):
    lead = client_for(amigos[ProductRoleKind.DELIVERY_LEAD])
    response = lead.post(_finish_url(session), {"confirmed": "yes"}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("backlog:session_detail", args=[session.pk])
    session.refresh_from_db()
    assert session.finished_at is not None


def test_next_up_lists_unestimated_items_as_effort_unknown_and_does_not_count_them(
    session, amigos, product
):
    """Before: an item with no effort counted as 0 points, so it silently took a place in
    the week; the row said "not estimated" and nothing said how it was treated."""
    from backlog.showandtell import next_up

    product.weekly_capacity = 10
    product.save()
    unknown = BacklogItemFactory(product=product, title="Nobody has sized this", effort=None)
    first = BacklogItemFactory(product=product, effort=6)
    second = BacklogItemFactory(product=product, effort=4)
    BacklogItemFactory(product=product, effort=3)
    rows, used = next_up(session)
    assert [r.pk for r in rows] == [unknown.pk, first.pk, second.pk] and used == 10
    client = client_for(amigos[ProductRoleKind.SPONSOR])
    page = client.get(reverse("backlog:session_detail", args=[session.pk])).content.decode()
    section = page[page.index('id="section-next"') : page.index('id="section-golive"')]
    row = re.search(r"<li[^>]*>.*?Nobody has sized this.*?</li>", section, re.S).group(0)
    assert "effort unknown" in row
    assert "1 item has no effort estimate" in section
    assert "not counted" in section and "(10 used)" in section
    # The frozen record keeps the note.
    sessions.next_up_confirm(session=session, actor=amigos[ProductRoleKind.SPONSOR])
    page = client.get(reverse("backlog:session_detail", args=[session.pk])).content.decode()
    assert "1 item has no effort estimate" in page


# ------------------------------------------------------------ signing in one step


@pytest.fixture
def waiting_items(product):
    now = timezone.now()
    return [
        BacklogItemFactory(
            product=product, title=f"Waiting {n}", status=ItemStatus.DONE, done_at=now
        )
        for n in range(3)
    ]


def test_a_signer_sees_the_items_waiting_for_their_role_then_signs_them_all_at_once(
    session, amigos, waiting_items
):
    sponsor = amigos[ProductRoleKind.SPONSOR]
    first, second, third = waiting_items
    sessions.go_live_sign(item=first, signer=sponsor, role=ProductRoleKind.SPONSOR)
    client = client_for(sponsor)
    url = reverse("backlog:go_live_sign_all", args=[session.pk])
    detail = client.get(reverse("backlog:session_detail", args=[session.pk])).content.decode()
    assert url in detail and "Sign all 2 waiting for the sponsor" in detail

    step = client.get(url)
    assert step.status_code == 200
    text = step.content.decode()
    assert second.title in text and third.title in text and first.title not in text
    assert GoLiveSignature.objects.filter(role=ProductRoleKind.SPONSOR).count() == 1

    items = re.findall(r'name="item" value="(\d+)"', text)
    response = client.post(url, {"role": ProductRoleKind.SPONSOR, "item": items})
    assert response.status_code == 302
    signed = GoLiveSignature.objects.filter(role=ProductRoleKind.SPONSOR, signer=sponsor)
    assert set(signed.values_list("item_id", flat=True)) == {i.pk for i in waiting_items}
    assert set(signed.exclude(item=first).values_list("session_id", flat=True)) == {session.pk}


def test_signing_all_is_one_transaction(session, amigos, waiting_items):
    """One of the listed items was moved back to in progress meanwhile: nothing is signed,
    and the person is told which item stopped it."""
    analyst = amigos[ProductRoleKind.BUSINESS_ANALYST]
    first, second, third = waiting_items
    BacklogItem.objects.filter(pk=third.pk).update(status=ItemStatus.IN_PROGRESS)
    client = client_for(analyst)
    url = reverse("backlog:go_live_sign_all", args=[session.pk])
    response = client.post(
        url,
        {"role": ProductRoleKind.BUSINESS_ANALYST, "item": [i.pk for i in waiting_items]},
        follow=True,
    )
    assert not GoLiveSignature.objects.exists()
    assert "Nothing was signed" in response.content.decode()
    assert third.title in response.content.decode()


def test_signing_all_needs_the_role_and_signs_only_for_it(session, amigos, waiting_items):
    owner_like = amigos[ProductRoleKind.SPONSOR]
    client = client_for(owner_like)
    url = reverse("backlog:go_live_sign_all", args=[session.pk])
    client.post(url, {"role": ProductRoleKind.LEAD_ENGINEER, "item": [waiting_items[0].pk]})
    assert not GoLiveSignature.objects.exists()


def test_the_fourth_signature_says_the_item_is_live_next_to_it(session, amigos, done_item):
    for role in ROLES[:3]:
        sessions.go_live_sign(item=done_item, signer=amigos[role], role=role, session=session)
    lead = client_for(amigos[ProductRoleKind.DELIVERY_LEAD])
    response = lead.post(
        reverse("backlog:go_live_sign", args=[session.pk, done_item.pk]),
        {"role": ProductRoleKind.DELIVERY_LEAD},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    block = re.search(rf'<div[^>]*id="golive-item-{done_item.pk}".*?</div>', html, re.S)
    assert block, html
    status = re.search(r'role="status"[^>]*>(.*?)</', block.group(0), re.S)
    assert status and f"“{done_item.title}” is live — all four signed" in status.group(1)


def test_signing_all_refuses_an_item_of_another_product_and_signs_nothing(
    session, amigos, waiting_items, organisation
):
    elsewhere = BacklogItemFactory(
        product=ProductFactory(organisation=organisation), status=ItemStatus.DONE
    )
    client = client_for(amigos[ProductRoleKind.SPONSOR])
    url = reverse("backlog:go_live_sign_all", args=[session.pk])
    response = client.post(
        url,
        {"role": ProductRoleKind.SPONSOR, "item": [waiting_items[0].pk, elsewhere.pk, "x"]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Nothing was signed" in response.content.decode()
    assert not GoLiveSignature.objects.exists()


def test_the_digest_says_which_next_up_items_have_no_effort_estimate(session, amigos, product):
    _with_emails(amigos.values())
    BacklogItemFactory(product=product, title="Unsized", effort=None)
    BacklogItemFactory(product=product, title="Sized", effort=2)
    sessions.session_finish(session=session, actor=amigos[ProductRoleKind.DELIVERY_LEAD])
    assert send_show_and_tell_digest(session_id=session.pk) is True
    message = mail.outbox[0]
    assert "  1. Unsized (effort unknown)" in message.body.splitlines()
    assert "Unsized (effort unknown, not counted)" in message.alternatives[0][0]
