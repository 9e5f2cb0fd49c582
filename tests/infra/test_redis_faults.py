"""Redis stopped or hung: every page and action answers, nothing queued is lost.

Each test owns a ``redis-server`` (tests/infra/conftest.py) and a real Celery worker
subprocess. With Redis stopped (connections refused) and with it paused by SIGSTOP
(connections accepted, nothing answers), people browse, move, estimate, vote and finish a
show-and-tell; each request must answer normally, save the change, and reach Redis at most
once however much it had to send (the breaker). When Redis is back, the beat sweep sends the
outbox and the worker, which stayed up through the outage, rescores and sends the digest.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from backlog.models import BacklogItem, ItemStatus, ProductRoleKind, ShowAndTell
from backlog.services import sessions
from config.celery import app
from outbox import breaker
from outbox.models import OutboxMessage
from outbox.tasks import outbox_sweep
from prioritisation import services
from prioritisation.models import Ballot, BenefitEstimate, ItemScore, PendingRescore
from prioritisation.tasks import recompute_product_scores
from tests.conftest import HTMX
from tests.factories import BacklogItemFactory, give_score_ranks, open_round
from tests.infra.conftest import wait_for

# Before the fix a Celery worker gave up on Redis about 12 s into an outage.
OUTAGE_LONGER_THAN_THE_OLD_RETRIES = 15
# A request that hangs on Redis is caught by this; the figures are printed, not asserted.
HANG = 10.0


@pytest.fixture
def scene(transactional_db, make_member, product, organisation, monkeypatch):
    """A product just large enough to be rescored in the background, its people, an open
    voting round and this week's show-and-tell."""
    monkeypatch.setattr(services.scores, "SYNC_RECOMPUTE_MAX_ITEMS", 3)
    items = BacklogItemFactory.create_batch(6, product=product)
    give_score_ranks(items)
    BacklogItemFactory(product=product, status=ItemStatus.DONE, title="Shipped")
    citizens = organisation.cohorts.get(name="Citizens")
    people = {
        role: make_member(product=product, roles=[role], cohort=citizens)
        for role in (
            ProductRoleKind.PRODUCT_OWNER,
            ProductRoleKind.DELIVERY_LEAD,
            ProductRoleKind.BUSINESS_VOTER,
        )
    }
    for user in people.values():
        user.email = f"{user.username}@example.org"
        user.save()
    round = open_round(product, people[ProductRoleKind.PRODUCT_OWNER])
    session, _ = sessions.session_for_week(product=product, day=sessions.local_today(product))
    # The set-up's own notifications (the round opened, the done item waits for signatures)
    # are not what this test follows: it counts only what is queued during the outage.
    OutboxMessage.objects.all().delete()
    clients = {}
    for role, user in people.items():
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(user)
    return {
        "product": product,
        "items": items,
        "round": round,
        "session": session,
        "cohort": citizens,
        "metric": organisation.metrics.order_by("pk").first(),
        "owner": clients[ProductRoleKind.PRODUCT_OWNER],
        "lead": clients[ProductRoleKind.DELIVERY_LEAD],
        "voter": clients[ProductRoleKind.BUSINESS_VOTER],
    }


def _timed(label: str, call, figures: list[str]):
    """One request, as a fresh process would make it (breaker closed); returns the response
    and checks it reached Redis at most once and did not hang."""
    breaker.reset()
    started = time.monotonic()
    response = call()
    elapsed = time.monotonic() - started
    figures.append(f"{label}: {response.status_code} in {elapsed:.2f} s")
    assert breaker.failures <= 1, f"{label}: {breaker.failures} failed Redis calls"
    assert elapsed < HANG, f"{label} took {elapsed:.1f} s"
    return response


def _break(redis, how: str) -> None:
    if how == "stopped":
        redis.stop()
    else:
        redis.pause()


def _restore(redis, how: str) -> None:
    if how == "stopped":
        redis.start()
    else:
        redis.resume()


def _run_beat_sweep() -> None:
    """What beat does every minute: send the sweep task to the workers."""
    with app.connection_for_write() as connection:
        app.send_task(outbox_sweep.name, connection=connection)


@pytest.mark.parametrize("how", ["stopped", "paused"])
def test_with_redis_down_every_action_answers_and_the_queued_work_runs_when_it_returns(
    scene, redis_app, workers, how, capsys
):
    product, items, session = scene["product"], scene["items"], scene["session"]
    worker = workers.start()
    wait_for(lambda: "ready." in workers.logs(), timeout=60, what="the worker to start")

    _break(redis_app, how)
    outage_began = time.monotonic()
    figures: list[str] = []

    page = _timed(
        "backlog page",
        lambda: scene["owner"].get(reverse("backlog:product_backlog", args=[product.pk])),
        figures,
    )
    assert page.status_code == 200 and product.name.encode() in page.content

    moved = _timed(
        "move",
        lambda: scene["owner"].post(
            reverse("backlog:item_move", args=[items[3].pk]), {"to": "top"}, **HTMX
        ),
        figures,
    )
    assert moved.status_code == 200
    assert BacklogItem.objects.filter(product=product).order_by("rank_key")[0] == items[3]

    grid = {}
    for cohort in product.organisation.cohorts.all():
        for metric in product.organisation.metrics.all():
            cell = f"{cohort.pk}-{metric.pk}"
            chosen = (cohort, metric) == (scene["cohort"], scene["metric"])
            grid |= {f"value-{cell}": "120" if chosen else "", f"confidence-{cell}": "high"}
            grid[f"evidence-{cell}"] = ""
    saved = _timed(
        "estimate save",
        lambda: scene["owner"].post(
            reverse("prioritisation:estimates_edit", args=[items[0].pk]), grid
        ),
        figures,
    )
    assert saved.status_code == 302
    assert BenefitEstimate.objects.get(item=items[0]).value == Decimal(120)
    rescore = OutboxMessage.objects.get(task=recompute_product_scores.name)
    assert rescore.kwargs == {"product_id": product.pk} and rescore.sent_at is None

    item_page = _timed(
        "item page",
        lambda: scene["owner"].get(reverse("backlog:item_detail", args=[items[0].pk])),
        figures,
    )
    assert item_page.status_code == 200 and b"an update is running" in item_page.content

    candidate = scene["round"].candidates.order_by("pk").first().item_id
    voted = _timed(
        "ballot",
        lambda: scene["voter"].post(
            reverse("prioritisation:ballot", args=[scene["round"].pk]), {f"rank-{candidate}": "1"}
        ),
        figures,
    )
    assert voted.status_code == 302
    assert Ballot.objects.get(round=scene["round"]).ranking == [[candidate]]

    finished = _timed(
        "show-and-tell finish",
        lambda: scene["lead"].post(
            reverse("backlog:session_finish", args=[session.pk]), {"confirmed": "yes"}
        ),
        figures,
    )
    assert finished.status_code == 302
    assert ShowAndTell.objects.get(pk=session.pk).finished_at is not None
    digest = OutboxMessage.objects.exclude(pk=rescore.pk).get()
    assert digest.kwargs == {"session_id": session.pk} and digest.sent_at is None

    with capsys.disabled():
        print(f"\nRedis {how}: " + "; ".join(figures))

    if how == "stopped":
        # The worker outlives an outage longer than its old retry budget.
        time.sleep(max(0.0, OUTAGE_LONGER_THAN_THE_OLD_RETRIES - (time.monotonic() - outage_began)))
    assert worker.poll() is None, "the worker gave up during the outage\n" + workers.logs()

    _restore(redis_app, how)
    assert not OutboxMessage.objects.filter(sent_at__isnull=False).exists()
    _run_beat_sweep()

    def delivered() -> bool:
        return (
            not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
            and not PendingRescore.objects.filter(product=product).exists()
            and ShowAndTell.objects.get(pk=session.pk).digest_sent_at is not None
        )

    try:
        wait_for(delivered, timeout=90, what="the worker to run the swept tasks")
    except AssertionError:
        raise AssertionError(workers.logs()) from None
    assert ItemScore.objects.filter(product=product).count() == 7
    assert ItemScore.objects.get(item=items[0]).rank == 1  # the only item with benefit
    assert worker.poll() is None


@pytest.mark.parametrize("how", ["stopped", "paused"])
def test_with_redis_down_a_cache_error_is_a_miss_and_costs_one_wait(redis_app, how):
    """Whatever else uses the cache (now or later) gets a miss, not an error; after one
    failure the cache stops calling Redis for a while instead of waiting on every call."""
    from django.core.cache import cache

    cache.set("greeting", "hello")
    assert cache.get("greeting") == "hello"
    _break(redis_app, how)
    breaker.reset()
    started = time.monotonic()
    assert cache.get("greeting", "missed") == "missed"
    cache.set("greeting", "again")
    assert cache.get_or_set("other", 5) == 5
    assert cache.add("new", 1) is False
    with pytest.raises(ValueError):
        cache.incr("counter")
    assert (breaker.attempts, breaker.failures) == (1, 1)
    assert time.monotonic() - started < HANG
    _restore(redis_app, how)
    breaker.reset()
    cache.set("greeting", "back")  # Redis is used again as soon as it answers
    assert cache.get("greeting") == "back"
