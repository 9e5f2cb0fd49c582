"""E-mail notifications: a round opens, a round closes within 24 hours, items wait for your
go-live signature, the show-and-tell digest. Each is queued through the outbox with the
change, sent once however often its task runs, and not at all to someone who switched it
off or was deactivated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from backlog.models import ItemStatus, ProductRoleKind
from backlog.services import sessions
from backlog.tasks import notify_go_live_due, notify_go_live_waiting, send_show_and_tell_digest
from customers.models import Membership, NotificationKind, NotificationSent
from outbox.models import OutboxMessage
from prioritisation import services as rounds
from prioritisation.notifications import round_closing_notify
from prioritisation.tasks import notify_round_opened, notify_rounds_due
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db


def person(make_member, product, role, name):
    user = make_member(product=product, roles=[role])
    user.email = f"{name}@riverside.example"
    user.first_name, user.last_name = name.title(), "Tester"
    user.save()
    return user


def switch(user, **choices) -> None:
    Membership.objects.filter(user=user).update(**choices)


def sent_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


@pytest.fixture
def scored(product):
    items = BacklogItemFactory.create_batch(4, product=product)
    give_score_ranks(items)
    return items


@pytest.fixture
def voters(make_member, product):
    return [
        person(make_member, product, ProductRoleKind.BUSINESS_VOTER, name)
        for name in ("vera", "victor")
    ]


# ---------------------------------------------------------------- a round opens


def test_opening_a_round_queues_its_announcement_with_the_round_and_sends_it_once(
    owner, product, scored, voters, make_member, django_capture_on_commit_callbacks
):
    viewer = person(make_member, product, ProductRoleKind.VIEWER, "wendy")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        round_ = open_round(product, owner, title="Spring priorities")
    assert callbacks  # sent after commit, not before
    queued = OutboxMessage.objects.get(task=notify_round_opened.name)
    assert queued.kwargs == {"round_id": round_.pk}
    assert not mail.outbox
    assert notify_round_opened(round_id=round_.pk) == 2
    assert notify_round_opened(round_id=round_.pk) == 0  # the task ran twice: sent once
    assert sent_to() == ["vera@riverside.example", "victor@riverside.example"]
    assert viewer.email not in sent_to()
    message = mail.outbox[0]
    assert "Spring priorities" in message.subject
    assert f"/rounds/{round_.pk}/ballot/" in message.body
    html = message.alternatives[0][0]
    assert f"/rounds/{round_.pk}/ballot/" in html and "/accounts/profile/" in html
    assert NotificationSent.objects.filter(kind=NotificationKind.ROUND_OPENED).count() == 2


def test_a_round_opening_later_is_announced_by_the_sweep_when_it_opens(
    owner, product, scored, voters
):
    now = timezone.now()
    round_ = open_round(
        product, owner, opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=3)
    )
    assert not OutboxMessage.objects.filter(task=notify_round_opened.name).exists()
    assert notify_round_opened(round_id=round_.pk) == 0  # not open yet
    assert notify_rounds_due() == 0
    from prioritisation.notifications import rounds_notify_due

    assert rounds_notify_due(now=now + timedelta(hours=2)) == 2
    assert rounds_notify_due(now=now + timedelta(hours=2, minutes=15)) == 0
    assert len(mail.outbox) == 2


def test_no_round_announcement_when_switched_off_deactivated_or_without_an_address(
    owner, product, scored, voters, make_member
):
    vera, victor = voters
    switch(vera, notify_round_opened=False)
    switch(victor, deactivated_at=timezone.now())
    nameless = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    assert nameless.email == ""
    round_ = open_round(product, owner)
    assert notify_round_opened(round_id=round_.pk) == 0
    assert not mail.outbox


def test_voters_of_another_organisation_hear_nothing(
    owner, product, scored, voters, outsider, other_product, make_member, other_organisation
):
    elsewhere = make_member(
        org=other_organisation, product=other_product, roles=[ProductRoleKind.BUSINESS_VOTER]
    )
    elsewhere.email = "elsewhere@borough.example"
    elsewhere.save()
    round_ = open_round(product, owner)
    notify_round_opened(round_id=round_.pk)
    assert "elsewhere@borough.example" not in sent_to()


# ---------------------------------------------------------------- a round closes soon


@pytest.fixture
def long_round(owner, product, scored):
    now = timezone.now()
    return open_round(
        product,
        owner,
        title="Autumn priorities",
        opens_at=now - timedelta(days=3),
        closes_at=now + timedelta(hours=20),
    )


def test_voters_who_have_not_voted_are_reminded_once_on_the_last_day(long_round, voters, scored):
    vera, victor = voters
    rounds.ballot_submit(round=long_round, voter=vera, ranking=[[i.pk] for i in scored])
    assert notify_rounds_due() == 1
    assert notify_rounds_due() == 0  # beat runs again: nothing twice
    assert sent_to() == ["victor@riverside.example"]
    message = mail.outbox[0]
    assert message.subject.startswith("Last day to vote: Autumn priorities")
    assert "you have not voted yet" in message.body
    assert f"/rounds/{long_round.pk}/ballot/" in message.body


def test_no_reminder_before_the_last_day_or_when_switched_off_or_deactivated(long_round, voters):
    vera, victor = voters
    assert round_closing_notify(round_id=long_round.pk, now=timezone.now() - timedelta(days=1)) == 0
    switch(vera, notify_round_closing=False)
    switch(victor, deactivated_at=timezone.now())
    assert notify_rounds_due() == 0
    assert not mail.outbox


def test_a_round_shorter_than_a_day_gets_no_reminder_its_announcement_said_when_it_closes(
    owner, product, scored, voters
):
    now = timezone.now()
    round_ = open_round(
        product, owner, opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=20)
    )
    assert round_closing_notify(round_id=round_.pk, now=now) == 0
    assert notify_rounds_due() == 2  # the announcement, with the closing time
    assert all(m.subject.startswith("Your vote is wanted") for m in mail.outbox)
    assert not NotificationSent.objects.filter(kind=NotificationKind.ROUND_CLOSING).exists()


def test_a_closed_round_sends_nothing(long_round, voters, owner):
    rounds.round_close_now(round=long_round, actor=owner)
    assert notify_rounds_due() == 0
    assert notify_round_opened(round_id=long_round.pk) == 0
    assert not mail.outbox


# ---------------------------------------------------------------- go-live


@pytest.fixture
def signers(make_member, product):
    return {
        role: person(make_member, product, role, role.replace("_", ""))
        for role in (
            ProductRoleKind.SPONSOR,
            ProductRoleKind.BUSINESS_ANALYST,
            ProductRoleKind.LEAD_ENGINEER,
            ProductRoleKind.DELIVERY_LEAD,
        )
    }


@pytest.fixture
def done_item(product):
    return BacklogItemFactory(
        product=product, title="Online repair booking", status=ItemStatus.DONE
    )


def test_a_new_show_and_tell_tells_each_signer_once_what_waits_for_them(
    product, signers, done_item, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        session, _ = sessions.session_for_week(product=product, day=sessions.local_today(product))
    queued = OutboxMessage.objects.get(task=notify_go_live_waiting.name)
    assert queued.kwargs == {"session_id": session.pk}
    assert notify_go_live_waiting(session_id=session.pk) == 4
    assert notify_go_live_waiting(session_id=session.pk) == 0
    assert notify_go_live_due() == 0
    assert sent_to() == sorted(user.email for user in signers.values())
    sponsor_mail = next(m for m in mail.outbox if m.to == [signers["sponsor"].email])
    assert "waiting for your go-live signature" in sponsor_mail.subject
    assert "Online repair booking (sign as sponsor)" in sponsor_mail.body
    assert f"/show-and-tell/{session.pk}/" in sponsor_mail.body
    assert owner.email == ""  # the product owner does not sign


def test_someone_who_signed_already_is_not_asked_and_later_items_come_from_the_sweep(
    product, signers, done_item
):
    session, _ = sessions.session_for_week(product=product, day=sessions.local_today(product))
    sessions.go_live_sign(
        item=done_item, signer=signers["sponsor"], role=ProductRoleKind.SPONSOR, session=session
    )
    assert notify_go_live_waiting(session_id=session.pk) == 3
    assert signers["sponsor"].email not in sent_to()
    mail.outbox.clear()
    BacklogItemFactory(product=product, title="Pay rent by card", status=ItemStatus.DONE)
    assert notify_go_live_due() == 4
    assert all("Pay rent by card" in m.body and "Online repair" not in m.body for m in mail.outbox)
    assert notify_go_live_due() == 0


def test_no_go_live_mail_when_switched_off_deactivated_or_the_session_is_finished(
    product, signers, done_item
):
    switch(signers["sponsor"], notify_go_live=False)
    switch(signers["business_analyst"], deactivated_at=timezone.now())
    session, _ = sessions.session_for_week(product=product, day=sessions.local_today(product))
    assert notify_go_live_waiting(session_id=session.pk) == 2
    assert signers["sponsor"].email not in sent_to()
    assert signers["business_analyst"].email not in sent_to()
    mail.outbox.clear()
    NotificationSent.objects.all().delete()
    sessions.session_finish(session=session, actor=signers["delivery_lead"])
    assert notify_go_live_waiting(session_id=session.pk) == 0
    assert notify_go_live_due() == 0


# ---------------------------------------------------------------- the digest


def test_the_digest_honours_the_switch_and_skips_deactivated_members(product, signers, done_item):
    switch(signers["sponsor"], notify_digest=False)
    switch(signers["business_analyst"], deactivated_at=timezone.now())
    session, _ = sessions.session_for_week(product=product, day=sessions.local_today(product))
    sessions.session_finish(session=session, actor=signers["delivery_lead"])
    assert send_show_and_tell_digest(session_id=session.pk) is True
    assert send_show_and_tell_digest(session_id=session.pk) is False
    digest = [m for m in mail.outbox if "show-and-tell of" in m.subject]
    assert len(digest) == 1
    assert sorted(digest[0].to) == sorted(
        [signers["lead_engineer"].email, signers["delivery_lead"].email]
    )


def test_a_title_with_line_breaks_still_makes_a_one_line_subject(owner, product, scored, voters):
    round_ = open_round(product, owner, title="Spring\r\npriorities\x07 2027")
    assert notify_round_opened(round_id=round_.pk) == 2
    assert mail.outbox[0].subject == "Your vote is wanted: Spring priorities 2027 (Repairs)"
