"""A worker killed in the middle of a rescore: the task is delivered again (acks late) and
leaves exactly what an uninterrupted run leaves."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prioritisation import services
from prioritisation.models import BenefitEstimate, ItemScore, PendingRescore
from tests.factories import BacklogItemFactory
from tests.infra.conftest import wait_for

SCORE_FIELDS = (
    "item_id",
    "method",
    "raw_benefit",
    "benefit",
    "raw_score",
    "score",
    "rank",
    "needs_estimates",
    "by_cohort",
    "by_metric",
    "cohort_ranks",
)


def _stored_scores(product) -> list[tuple]:
    return list(
        ItemScore.objects.filter(product=product).order_by("item_id").values_list(*SCORE_FIELDS)
    )


@pytest.fixture
def large_product(transactional_db, product, owner, cohorts, metrics, monkeypatch):
    """Forty items with estimates, large enough (for this test) to rescore in the background."""
    monkeypatch.setattr(services.scores, "SYNC_RECOMPUTE_MAX_ITEMS", 10)
    items = BacklogItemFactory.create_batch(40, product=product)
    BenefitEstimate.objects.bulk_create(
        BenefitEstimate(
            item=item,
            cohort=cohorts["Citizens" if i % 2 else "Colleagues"],
            metric=metrics["Satisfaction"],
            value=Decimal(i % 7 + 1),
        )
        for i, item in enumerate(items)
    )
    return product, owner, items, cohorts, metrics


def test_a_rescore_killed_mid_run_is_redelivered_and_stores_what_an_uninterrupted_run_does(
    large_product, workers, tmp_path
):
    product, owner, items, cohorts, metrics = large_product
    marker = tmp_path / "rescore-stored"
    first = workers.start(FAULT_PAUSE_AFTER_STORE=str(marker))

    # An estimate saved through the service: the rescore goes through the outbox, is sent
    # after the commit, and the first worker takes it.
    services.estimates_save(
        item=items[0],
        actor=owner,
        cells=[
            services.EstimateCell(
                cohort=cohorts["Leaders"], metric=metrics["Satisfaction"], value=Decimal(50)
            )
        ],
    )
    try:
        wait_for(marker.exists, timeout=60, what="the first worker to be mid-rescore")
    except AssertionError:
        raise AssertionError(workers.logs()) from None
    workers.kill(first)  # SIGKILL to the worker and its pool: a lost machine

    # The killed run wrote its rows inside a transaction that never committed.
    assert not ItemScore.objects.filter(product=product).exists()
    assert PendingRescore.objects.filter(product=product).exists()

    workers.start()
    try:
        wait_for(
            lambda: not PendingRescore.objects.filter(product=product).exists(),
            timeout=90,
            what="the redelivered rescore to finish on the second worker",
        )
    except AssertionError:
        raise AssertionError(workers.logs()) from None
    redelivered = _stored_scores(product)
    assert len(redelivered) == 40
    assert redelivered[0][0] == items[0].pk and redelivered[0][SCORE_FIELDS.index("rank")] == 1

    services.scores_recompute(product_id=product.pk)  # an uninterrupted run, here
    assert _stored_scores(product) == redelivered
