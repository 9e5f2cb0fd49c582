"""Scores stored per item: hand-computed cases, flags, methods, refresh and query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backlog.models import ItemStatus
from outbox.models import OutboxMessage
from prioritisation import services
from prioritisation.models import BenefitEstimate, ItemScore, ItemScoringInputs
from prioritisation.tasks import recompute_product_scores
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db


def estimate(item, cohort, metric, value, confidence="high"):
    return BenefitEstimate.objects.create(
        item=item, cohort=cohort, metric=metric, value=Decimal(value), confidence=confidence
    )


def score_of(item) -> ItemScore:
    return ItemScore.objects.get(item=item)


def test_benefit_per_effort_matches_the_hand_computed_figures(product, cohorts, metrics):
    """Citizens weight 2, hours metric weight 1, uplift 0.5, haircut 0.1.

    A: 10 hours, high (1.0), effort 2. B: 5 hours, medium (0.8), effort 1.
    Scale = max |value| = 10. Raw benefit A = 2 × 1 × 10/10 × 1.0 = 2.0;
    B = 2 × 1 × 5/10 × 0.8 = 0.8. Raw score A = 2.0 / 2 = 1.0; B = 0.8 / 1 = 0.8.
    Adjusted A = 2.0 × 0.9 / (2 × 1.5) = 0.6; B = 0.8 × 0.9 / (1 × 1.5) = 0.48.
    """
    citizens, hours = cohorts["Citizens"], metrics["Staff hours saved"]
    citizens.voice_weight = 2
    citizens.save()
    product.effort_uplift, product.benefit_haircut = Decimal("0.5"), Decimal("0.1")
    product.save()
    a = BacklogItemFactory(product=product, effort=2)
    b = BacklogItemFactory(product=product, effort=1)
    estimate(a, citizens, hours, "10", "high")
    estimate(b, citizens, hours, "5", "medium")
    services.scores_recompute(product_id=product.pk)
    sa, sb = score_of(a), score_of(b)
    assert sa.raw_benefit == pytest.approx(2.0)
    assert sb.raw_benefit == pytest.approx(0.8)
    assert (sa.raw_score, sb.raw_score) == (pytest.approx(1.0), pytest.approx(0.8))
    assert (sa.score, sb.score) == (pytest.approx(0.6), pytest.approx(0.48))
    assert (sa.benefit, sb.benefit) == (pytest.approx(1.8), pytest.approx(0.72))
    assert (sa.rank, sb.rank) == (1, 2)
    assert sa.by_cohort[str(citizens.pk)] == pytest.approx(0.6)
    assert sa.by_metric[str(hours.pk)] == pytest.approx(0.6)
    product.refresh_from_db()
    assert product.scores_computed_at is not None


def test_an_item_without_estimates_scores_zero_and_is_flagged(product, cohorts, metrics):
    scored = BacklogItemFactory(product=product, effort=3)
    bare = BacklogItemFactory(product=product, effort=3)
    no_effort = BacklogItemFactory(product=product, effort=None)
    estimate(scored, cohorts["Leaders"], metrics["Cash saved"], "1000")
    estimate(no_effort, cohorts["Leaders"], metrics["Cash saved"], "5000")
    services.scores_recompute(product_id=product.pk)
    assert score_of(bare).score == 0 and score_of(bare).needs_estimates
    assert score_of(no_effort).score == 0 and score_of(no_effort).needs_estimates
    assert not score_of(scored).needs_estimates
    # Both flagged items score 0; the tie goes to the one with estimated benefit.
    assert [score_of(i).rank for i in (scored, no_effort, bare)] == [1, 2, 3]


def test_ties_go_to_more_benefit_then_to_the_older_item(product, cohorts, metrics):
    """Same score 1.0 (benefit 2 / effort 2 against 1 / 1): more benefit wins.
    Identical items: the older (created first) wins."""
    colleagues, calls = cohorts["Colleagues"], metrics["Phone calls avoided"]
    product.effort_uplift = 0
    product.save()
    small = BacklogItemFactory(product=product, effort=1)
    big = BacklogItemFactory(product=product, effort=2)
    twin_old = BacklogItemFactory(product=product, effort=4)
    twin_new = BacklogItemFactory(product=product, effort=4)
    estimate(small, colleagues, calls, "50")
    estimate(big, colleagues, calls, "100")
    estimate(twin_old, colleagues, calls, "20")
    estimate(twin_new, colleagues, calls, "20")
    services.scores_recompute(product_id=product.pk)
    assert score_of(small).score == pytest.approx(score_of(big).score)
    assert [score_of(i).rank for i in (big, small, twin_old, twin_new)] == [1, 2, 3, 4]


def test_lower_is_better_metric_counts_a_decrease_as_benefit(product, cohorts, metrics):
    cost = metrics["Cash saved"]
    cost.higher_is_better = False
    cost.save()
    cheaper = BacklogItemFactory(product=product, effort=1)
    dearer = BacklogItemFactory(product=product, effort=1)
    estimate(cheaper, cohorts["Leaders"], cost, "-500")
    estimate(dearer, cohorts["Leaders"], cost, "200")
    services.scores_recompute(product_id=product.pk)
    assert score_of(cheaper).score > 0 > score_of(dearer).score
    assert score_of(cheaper).rank == 1


def test_closed_items_are_scored_but_not_ranked(product, cohorts, metrics):
    done = BacklogItemFactory(product=product, status=ItemStatus.DONE)
    open_item = BacklogItemFactory(product=product, status=ItemStatus.READY)
    for item in (done, open_item):
        estimate(item, cohorts["Citizens"], metrics["Satisfaction"], "5")
    services.scores_recompute(product_id=product.pk)
    assert score_of(done).rank is None and score_of(done).score > 0
    assert score_of(open_item).rank == 1


def test_per_cohort_ranks_order_as_if_only_that_cohort_counted(product, cohorts, metrics):
    citizens_item = BacklogItemFactory(product=product, effort=1)
    leaders_item = BacklogItemFactory(product=product, effort=1)
    hours = metrics["Staff hours saved"]
    estimate(citizens_item, cohorts["Citizens"], hours, "10")
    estimate(leaders_item, cohorts["Leaders"], hours, "8")
    estimate(leaders_item, cohorts["Citizens"], hours, "1")
    services.scores_recompute(product_id=product.pk)
    citizens, leaders = str(cohorts["Citizens"].pk), str(cohorts["Leaders"].pk)
    assert score_of(citizens_item).cohort_ranks[citizens] == 1
    assert score_of(leaders_item).cohort_ranks[leaders] == 1
    assert score_of(leaders_item).cohort_ranks[citizens] == 2


def test_rice_uses_summed_cohort_size_as_default_reach(product, cohorts):
    """Reach = Citizens 100,000 + Leaders 50 = 100,050; impact 2, confidence 0.8, effort 2
    months: 100,050 × 2 × 0.8 / 2 = 80,040. Override reach 1,000: 1,000 × 2 × 0.8 / 2 = 800.
    Adjusted by uplift 0.54: ÷ 1.54."""
    product.scoring_method = "rice"
    product.save()
    default_reach = BacklogItemFactory(product=product)
    default_reach.cohorts.set([cohorts["Citizens"], cohorts["Leaders"]])
    overridden = BacklogItemFactory(product=product)
    missing = BacklogItemFactory(product=product)
    common = {"rice_impact": Decimal("2"), "rice_confidence": "medium", "rice_effort_months": 2}
    ItemScoringInputs.objects.create(item=default_reach, **common)
    ItemScoringInputs.objects.create(item=overridden, rice_reach=1000, **common)
    services.scores_recompute(product_id=product.pk)
    assert score_of(default_reach).raw_score == pytest.approx(80_040)
    assert score_of(default_reach).score == pytest.approx(80_040 / 1.54)
    assert score_of(overridden).raw_score == pytest.approx(800)
    assert score_of(missing).needs_estimates and score_of(missing).score == 0
    assert [score_of(i).rank for i in (default_reach, overridden, missing)] == [1, 2, 3]


def test_wsjf_and_ice_scores(product):
    """WSJF (8 + 5 + 3) / 2 = 8; ICE 7 × 8 × 5 = 280 (no effort term: only the haircut)."""
    item = BacklogItemFactory(product=product)
    ItemScoringInputs.objects.create(
        item=item,
        wsjf_business_value=8,
        wsjf_time_criticality=5,
        wsjf_risk_reduction=3,
        wsjf_job_size=2,
        ice_impact=7,
        ice_confidence=8,
        ice_ease=5,
    )
    product.scoring_method = "wsjf"
    product.save()
    services.scores_recompute(product_id=product.pk)
    assert score_of(item).raw_score == pytest.approx(8)
    product.scoring_method, product.benefit_haircut = "ice", Decimal("0.2")
    product.save()
    services.scores_recompute(product_id=product.pk)
    assert score_of(item).raw_score == pytest.approx(280)
    assert score_of(item).score == pytest.approx(224)


def test_moscow_orders_by_bucket_then_by_benefit_per_effort(product, cohorts, metrics):
    product.scoring_method = "moscow"
    product.save()
    should_high = BacklogItemFactory(product=product, effort=1)
    must_low = BacklogItemFactory(product=product, effort=1)
    must_high = BacklogItemFactory(product=product, effort=1)
    for item, value in ((should_high, "100"), (must_low, "10"), (must_high, "50")):
        estimate(item, cohorts["Citizens"], metrics["Satisfaction"], value)
    ItemScoringInputs.objects.create(item=should_high, moscow="should")
    ItemScoringInputs.objects.create(item=must_low, moscow="must")
    ItemScoringInputs.objects.create(item=must_high, moscow="must")
    services.scores_recompute(product_id=product.pk)
    assert [score_of(i).rank for i in (must_high, must_low, should_high)] == [1, 2, 3]


def test_saving_estimates_rescores_a_small_product_at_once(product, owner, cohorts, metrics):
    item = BacklogItemFactory(product=product)
    services.estimates_save(
        item=item,
        actor=owner,
        cells=[
            services.EstimateCell(
                cohort=cohorts["Citizens"], metric=metrics["Satisfaction"], value=Decimal("4")
            )
        ],
    )
    assert score_of(item).score > 0
    assert item.events.filter(kind="estimated").count() == 1


def test_estimates_naming_another_organisations_cohort_save_nothing(
    product, owner, metrics, other_organisation
):
    item = BacklogItemFactory(product=product)
    foreign = other_organisation.cohorts.first()
    good = product.organisation.cohorts.first()
    with pytest.raises(Exception, match="another organisation"):
        services.estimates_save(
            item=item,
            actor=owner,
            cells=[
                services.EstimateCell(
                    cohort=good, metric=metrics["Satisfaction"], value=Decimal(1)
                ),
                services.EstimateCell(
                    cohort=foreign, metric=metrics["Satisfaction"], value=Decimal(1)
                ),
            ],
        )
    assert not BenefitEstimate.objects.exists()


def test_a_large_product_is_rescored_by_a_task_after_commit(
    product, owner, cohorts, metrics, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services.scores, "SYNC_RECOMPUTE_MAX_ITEMS", 5)
    items = BacklogItemFactory.create_batch(6, product=product)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.estimates_save(
            item=items[0],
            actor=owner,
            cells=[
                services.EstimateCell(
                    cohort=cohorts["Citizens"], metric=metrics["Satisfaction"], value=Decimal(3)
                )
            ],
        )
    assert len(callbacks) == 1
    assert not ItemScore.objects.filter(product=product).exists()  # the request did not wait
    queued = OutboxMessage.objects.get()
    assert (queued.task, queued.kwargs) == (
        recompute_product_scores.name,
        {"product_id": product.pk},
    )
    assert services.scores_pending(product=product)  # the pages say an update is running
    # The task itself, run directly (twice: it is idempotent).
    assert recompute_product_scores(product_id=product.pk) == 6
    assert not services.scores_pending(product=product)
    assert recompute_product_scores(product_id=product.pk) == 6
    assert ItemScore.objects.filter(product=product).count() == 6
    assert score_of(items[0]).rank == 1


def test_a_rescore_asked_for_while_one_runs_keeps_the_notice_until_its_own_run(
    product, owner, cohorts, metrics, monkeypatch
):
    """The notice is cleared only by a run that read the data after the last request."""
    from django.utils import timezone

    from prioritisation.models import PendingRescore

    monkeypatch.setattr(services.scores, "SYNC_RECOMPUTE_MAX_ITEMS", 1)
    BacklogItemFactory.create_batch(2, product=product)
    services.scores_refresh(product=product)
    original = services.recompute.selectors.scoring_data

    def request_arrives_mid_run(**kwargs):
        data = original(**kwargs)
        PendingRescore.objects.filter(product=product).update(requested_at=timezone.now())
        return data

    monkeypatch.setattr(services.recompute.selectors, "scoring_data", request_arrives_mid_run)
    services.scores_recompute(product_id=product.pk)
    assert services.scores_pending(product=product)
    monkeypatch.setattr(services.recompute.selectors, "scoring_data", original)
    services.scores_recompute(product_id=product.pk)
    assert not services.scores_pending(product=product)


def test_recompute_query_count_is_constant_in_the_number_of_items(
    product, cohorts, metrics, django_assert_max_num_queries
):
    """Guards against per-item queries in loading inputs or storing scores."""
    items = BacklogItemFactory.create_batch(300, product=product)
    BenefitEstimate.objects.bulk_create(
        BenefitEstimate(
            item=item, cohort=cohorts["Citizens"], metric=metrics["Satisfaction"], value=i + 1
        )
        for i, item in enumerate(items)
    )
    with django_assert_max_num_queries(17):
        services.scores_recompute(product_id=product.pk)
    assert ItemScore.objects.filter(product=product).count() == 300


def test_a_weight_change_across_large_products_goes_to_the_workers(
    organisation, monkeypatch, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    """Guards the N+1 of counting each product's items, and the request recomputing many
    products in turn: one sizing query, then one INSERT marking them all "being updated"
    and one INSERT queueing a task per product in the outbox, sent by one callback."""
    from tests.factories import ProductFactory

    monkeypatch.setattr(services.scores, "SYNC_RECOMPUTE_MAX_ITEMS", 5)
    for _ in range(4):
        BacklogItemFactory.create_batch(2, product=ProductFactory(organisation=organisation))
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        django_assert_max_num_queries(3),
    ):
        services.scores_refresh_organisation(organisation_id=organisation.pk)
    assert len(callbacks) == 1
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 4
    assert not ItemScore.objects.exists()
