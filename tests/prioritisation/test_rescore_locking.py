"""A background rescore reads and computes without the product lock, and stores only scores
computed from inputs that are still current: moves never wait on it, and changes made while
it computes are never overwritten by stale scores.

The rescore is paused between its computation and its write by wrapping
``recompute.scores_compute``, which every rescore calls once per round.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from backlog.models import Product
from backlog.services import item_move
from prioritisation import services
from prioritisation.models import BenefitEstimate, ItemScore, PendingRescore
from prioritisation.services import recompute
from tests.conftest import require_postgresql
from tests.factories import BacklogItemFactory

# Long enough for any move on an idle database; a move blocked on the rescore never ends
# before the rescore is let go.
MOVE_DEADLINE_S = 10


def estimate(item, cohort, metric, value):
    return BenefitEstimate.objects.create(
        item=item, cohort=cohort, metric=metric, value=Decimal(value), confidence="high"
    )


def pause_after_compute(monkeypatch, on_pause):
    """Call ``on_pause(round)`` after each round's computation, before its write."""
    original = recompute.scores_compute
    rounds = []

    def computed_then_paused(**kwargs):
        scores = original(**kwargs)
        rounds.append(scores)
        on_pause(len(rounds))
        return scores

    monkeypatch.setattr(recompute, "scores_compute", computed_then_paused)
    return rounds


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_move_made_while_a_rescore_computes_does_not_wait_for_it(
    product, owner, cohorts, metrics, monkeypatch
):
    """Before: the rescore held the product row lock from its read to its commit, so the
    move (which locks the product row) waited for the whole rescore."""
    require_postgresql()
    items = BacklogItemFactory.create_batch(30, product=product)
    for n, item in enumerate(items):
        estimate(item, cohorts["Citizens"], metrics["Cash saved"], n + 1)
    computed, release = threading.Event(), threading.Event()

    def hold(_round: int) -> None:
        computed.set()
        release.wait(timeout=2 * MOVE_DEADLINE_S)

    pause_after_compute(monkeypatch, hold)
    outcome: list = []

    def rescore() -> None:
        try:
            outcome.append(services.scores_rescore(product_id=product.pk))
        finally:
            connections.close_all()

    worker = threading.Thread(target=rescore)
    worker.start()
    try:
        assert computed.wait(timeout=MOVE_DEADLINE_S)
        moved = threading.Event()

        def move() -> None:
            try:
                item_move(item=items[-1], actor=owner, to="top")
                moved.set()
            finally:
                connections.close_all()

        mover = threading.Thread(target=move)
        mover.start()
        assert moved.wait(timeout=MOVE_DEADLINE_S), "the move waited on the rescore"
    finally:
        release.set()
        worker.join()
        mover.join()
    # The move changed no input, so the rescore stored what it computed.
    assert outcome[0].items == 30 and outcome[0].rows_written == 30
    assert ItemScore.objects.get(item=items[-1]).rank == 1  # the largest cash saved


def test_a_rescore_whose_inputs_changed_meanwhile_stores_fresh_scores(
    product, owner, cohorts, metrics, monkeypatch
):
    """An estimate saved on a large product (queued for the workers) while the rescore
    computes: the rescore sees the request's new time, reads and computes again, and stores
    scores that count the new estimate. Before: it stored the scores of the old estimates."""
    monkeypatch.setattr(services.scores, "SYNC_RECOMPUTE_MAX_ITEMS", 2)
    low, high = BacklogItemFactory.create_batch(2, product=product)
    BacklogItemFactory(product=product)
    citizens, cash = cohorts["Citizens"], metrics["Cash saved"]
    estimate(low, citizens, cash, 10)
    estimate(high, citizens, cash, 20)

    def save_meanwhile(round_: int) -> None:
        if round_ == 1:
            cell = services.EstimateCell(cohort=citizens, metric=cash, value=Decimal(50))
            services.estimates_save(item=low, actor=owner, cells=[cell])

    rounds = pause_after_compute(monkeypatch, save_meanwhile)
    services.scores_rescore(product_id=product.pk)
    assert len(rounds) == 2  # the stale round was thrown away
    assert ItemScore.objects.get(item=low).rank == 1
    assert ItemScore.objects.get(item=high).rank == 2
    # The second round read after the request, so its scores answer it: the notice goes.
    assert not PendingRescore.objects.filter(product=product).exists()


def test_a_rescore_whose_settings_changed_meanwhile_stores_fresh_scores(
    product, cohorts, metrics, monkeypatch
):
    item = BacklogItemFactory(product=product, effort=1)
    estimate(item, cohorts["Citizens"], metrics["Cash saved"], 10)

    def change_haircut(round_: int) -> None:
        if round_ == 1:
            Product.objects.filter(pk=product.pk).update(benefit_haircut=Decimal("0.5"))

    pause_after_compute(monkeypatch, change_haircut)
    product.effort_uplift = Decimal(0)
    product.save()
    services.scores_rescore(product_id=product.pk)
    stored = ItemScore.objects.get(item=item)
    assert stored.score == pytest.approx(stored.raw_score * 0.5)


def test_a_rescore_that_changes_nothing_writes_no_row(
    product, cohorts, metrics, django_assert_max_num_queries
):
    """Guards against per-item queries and against rewriting rows that did not change:
    the store is a fixed number of statements, and writes only the rows that differ."""
    items = BacklogItemFactory.create_batch(300, product=product)
    BenefitEstimate.objects.bulk_create(
        BenefitEstimate(
            item=item, cohort=cohorts["Citizens"], metric=metrics["Satisfaction"], value=i + 1
        )
        for i, item in enumerate(items)
    )
    first = services.scores_rescore(product_id=product.pk)
    assert (first.items, first.rows_written) == (300, 300)
    with django_assert_max_num_queries(17):
        again = services.scores_rescore(product_id=product.pk)
    assert (again.items, again.rows_written) == (300, 0)


def test_a_rescore_writes_exactly_the_rows_whose_figures_changed(product, cohorts, metrics):
    """The lowest-scored open item gains the most benefit: its row and the rows it passes
    (whose ranks fall by one) change; the rest are not written."""
    items = BacklogItemFactory.create_batch(40, product=product, effort=1)
    satisfaction = metrics["Satisfaction"]
    for n, item in enumerate(items):
        estimate(item, cohorts["Citizens"], satisfaction, 100 - n)
    services.scores_rescore(product_id=product.pk)
    before = dict(ItemScore.objects.values_list("item_id", "rank"))
    # Item 30 (rank 31) rises to rank 11, just below item 9 (value 91): 90.5 between.
    BenefitEstimate.objects.filter(item=items[30]).update(value=Decimal("90.5"))
    result = services.scores_rescore(product_id=product.pk)
    after = dict(ItemScore.objects.values_list("item_id", "rank"))
    changed = {pk for pk in after if after[pk] != before[pk]}
    assert after[items[30].pk] == 11
    assert changed == {items[30].pk} | {item.pk for item in items[10:30]}
    assert result.rows_written == len(changed) == 21


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_background_rescores_and_saves_that_rescore_in_the_request_never_deadlock(
    product, owner, cohorts, metrics
):
    """A save on a small product rescores in its request (product, item, then the scores
    lock) while a background rescore of the same product runs again and again (the scores
    lock, then its rows). Every save commits; the last stored scores count every save."""
    from tests.prioritisation.test_lock_order import run_together

    require_postgresql()
    items = BacklogItemFactory.create_batch(40, product=product)
    saves_done = threading.Event()

    def rescore() -> None:
        while not saves_done.is_set():
            services.scores_rescore(product_id=product.pk)

    def save() -> None:
        try:
            for n, item in enumerate(items[:20]):
                cell = services.EstimateCell(
                    cohorts["Leaders"], metrics["Cash saved"], Decimal(n + 1)
                )
                services.estimates_save(item=item, actor=owner, cells=[cell])
                item_move(item=item, actor=owner, to="top")
        finally:
            saves_done.set()

    assert run_together(rescore, save) == []
    assert BenefitEstimate.objects.filter(item__product=product).count() == 20
    assert ItemScore.objects.get(item=items[19]).rank == 1  # the largest, saved last
    assert ItemScore.objects.filter(product=product).count() == 40
