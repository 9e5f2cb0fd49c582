"""The compare page's summary over every open item: computed as a sort of every item would
give it, cached (PostgreSQL) under the order version and the time the scores were stored,
right after every kind of change, and not read item by item again while neither moved."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from scipy.stats import kendalltau

from backlog import services
from backlog.agreement import pair_agreement
from backlog.compare import CHART_POINTS, DISAGREEMENTS, MAX_TOP, _summarise, tau_and_pairs
from backlog.models import OPEN_STATUSES, BacklogItem, ItemStatus, ProductRoleKind
from prioritisation import results
from prioritisation import services as scoring
from prioritisation.models import BenefitEstimate
from tests.factories import BacklogItemFactory, open_round

# ---------------------------------------------------------------- the figures, no database


def random_ranks(seed: int, n: int, *, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    first = rng.integers(1, n // 3 + 2, n) if ties else rng.permutation(n) + 1
    second = rng.integers(1, n // 4 + 2, n) if ties else rng.permutation(n) + 1
    return first, second


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
def test_tau_and_pairs_match_scipy_and_the_pair_count(seed, ties):
    first, second = random_ranks(seed, 40 + seed * 37, ties=ties)
    tau, pairs = tau_and_pairs(first, second)
    assert tau == pytest.approx(kendalltau(first, second).statistic, abs=1e-12)
    assert pairs == pair_agreement(first, second)


@pytest.mark.parametrize(
    "first,second",
    [([], []), ([1], [1]), ([1, 2], [2, 1]), ([1, 1, 1], [1, 2, 3]), ([3, 1, 2], [5, 5, 5])],
)
def test_tau_and_pairs_at_the_edges(first, second):
    first, second = np.array(first, dtype=np.int64), np.array(second, dtype=np.int64)
    tau, pairs = tau_and_pairs(first, second)
    expected = kendalltau(first, second).statistic if len(first) >= 2 else math.nan
    assert (tau is None) == math.isnan(expected)
    if tau is not None:
        assert tau == pytest.approx(expected)
    assert pairs == pair_agreement(first, second)


def reference_summary(ids: np.ndarray, score_rank: np.ndarray) -> dict:
    """What the page showed before the summary was cached: plain sorts of every item."""
    manual_rank = np.arange(1, len(ids) + 1)
    scored = score_rank > 0
    by_score = ids[scored][np.argsort(score_rank[scored], kind="stable")]
    gap = np.where(scored, np.abs(manual_rank - score_rank), -1)
    worst = [int(i) for i in np.lexsort((manual_rank, -gap))[:DISAGREEMENTS] if gap[i] > 0]
    shown = min(len(ids), CHART_POINTS)
    points = [
        (int(m), int(s)) for m, s in zip(manual_rank[:shown], score_rank[:shown], strict=True) if s
    ]
    return {
        "manual_ids": ids[:MAX_TOP].tolist(),
        "score_ids": by_score[:MAX_TOP].tolist(),
        "worst": [(int(ids[i]), int(manual_rank[i]), int(score_rank[i])) for i in worst],
        "points": points,
        "chart_max": max([shown, *(s for _, s in points)]),
        "scored_items": int(scored.sum()),
        "pairs": pair_agreement(manual_rank[scored], score_rank[scored]),
    }


@pytest.mark.parametrize("n", [0, 1, 7, 250, 900])
@pytest.mark.parametrize("ties", [False, True])
def test_the_summary_is_what_sorting_every_item_gives(n, ties):
    """Score ranks with ties and unscored items (0), gaps tied at the tenth place: the
    partial selections pick what full sorts would."""
    rng = np.random.default_rng(n)
    ids = rng.permutation(np.arange(1000, 1000 + n))
    score_rank = rng.integers(0, max(n // 5, 1) + 1, n) if ties else rng.permutation(n) + 1
    if n:
        score_rank[rng.random(n) < 0.2] = 0
    summary = _summarise(ids.astype(np.int64), score_rank.astype(np.int64))
    expected = reference_summary(ids, score_rank)
    assert summary.open_items == n
    for name, value in expected.items():
        assert getattr(summary, name) == value, name


# ---------------------------------------------------------------- the page, on PostgreSQL

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the summary is cached under the order version"
)


def compare_page(client, product, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("backlog:compare", args=[product.pk]), params)
    assert response.status_code == 200
    return response.context["comparison"], [q["sql"] for q in ctx.captured_queries]


def read_every_item(sql: list[str]) -> bool:
    """A query that reads the product's open items (the manual ranks) or all its score
    ranks: what a view must not do while the orders stand."""
    return any("ARRAY(SELECT id" in q or "array_agg(item_id" in q for q in sql)


def expected(product, top=25) -> dict:
    """The figures the page should show, from the database as it is now, by brute force."""
    rows = list(
        BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
        .order_by("rank_key")
        .values_list("pk", "score__rank", "title")
    )
    scored = [(m, r, pk) for m, (pk, r, _) in enumerate(rows, start=1) if r]
    agree = disagree = 0
    for i, (m1, r1, _) in enumerate(scored):
        for m2, r2, _ in scored[i + 1 :]:
            if r1 != r2:
                agree += (m1 < m2) == (r1 < r2)
                disagree += (m1 < m2) != (r1 < r2)
    gaps = sorted((-abs(m - r), m, pk, r) for m, r, pk in scored if m != r)
    return {
        "open_items": len(rows),
        "manual_top": [(pk, title) for pk, _, title in rows[:top]],
        "score_top": [pk for _, _, pk in sorted(scored, key=lambda t: (t[1], t[0]))][:top],
        "pairs": (agree, disagree),
        "worst": [(pk, m, r) for _, m, pk, r in gaps[:DISAGREEMENTS]],
    }


def shown(comparison) -> dict:
    return {
        "open_items": comparison.open_items,
        "manual_top": [(item.pk, item.title) for item in comparison.manual_top],
        "score_top": [item.pk for item in comparison.score_top],
        "pairs": (comparison.pairs.agree, comparison.pairs.disagree),
        "worst": [(d.item.pk, d.manual_rank, d.score_rank) for d in comparison.disagreements],
    }


@pytest.fixture
def scored_backlog(product, cohorts, metrics):
    """30 items whose estimates put the score order roughly against the manual order."""
    items = [
        BacklogItemFactory(product=product, title=f"Item {n:02}", effort=1 + n % 3)
        for n in range(30)
    ]
    cohort, metric = cohorts["Citizens"], metrics["Staff hours saved"]
    BenefitEstimate.objects.bulk_create(
        BenefitEstimate(item=item, cohort=cohort, metric=metric, value=Decimal(10 + 3 * n))
        for n, item in enumerate(items)
    )
    scoring.scores_recompute(product_id=product.pk)
    return items


@postgresql
@pytest.mark.django_db
def test_the_page_is_right_after_each_kind_of_change_and_reads_no_item_list_between(
    owner_client, owner, product, scored_backlog, make_member
):
    items = scored_backlog

    def check(*, recomputed: bool, **params):
        comparison, sql = compare_page(owner_client, product, **params)
        assert shown(comparison) == expected(product, **params)
        assert read_every_item(sql) == recomputed
        if not recomputed:  # a repeat view reads nothing item by item either
            again, sql = compare_page(owner_client, product, **params)
            assert shown(again) == shown(comparison) and not read_every_item(sql)
        return comparison

    first = check(recomputed=True)
    assert first.pairs.disagree > first.pairs.agree  # the fixture's orders disagree
    check(recomputed=False)
    check(recomputed=False, top=7)  # a different top is cut from the same summary

    services.item_move(item=items[29], actor=owner, to="top")  # a move
    assert check(recomputed=True).manual_top[0].pk == items[29].pk
    check(recomputed=False)

    BacklogItem.objects.filter(pk=items[0].pk).update(status=ItemStatus.DONE)  # closed
    assert check(recomputed=True).open_items == 29
    BacklogItemFactory(product=product, title="A new idea")  # added
    assert check(recomputed=True).open_items == 30
    items[5].delete()  # deleted
    assert check(recomputed=True).open_items == 29
    BacklogItem.objects.filter(pk=items[3].pk).update(title="Renamed")  # titles read fresh
    assert ("Renamed" in [item.title for item in check(recomputed=True).manual_top]) is (
        items[3].pk in [pk for pk, _ in expected(product)["manual_top"]]
    )

    # A rescore with new estimates: the score order turns round; the manual order stands.
    BenefitEstimate.objects.filter(item__product=product).update(value=Decimal(1))
    BenefitEstimate.objects.filter(item=items[10]).update(value=Decimal(500))
    scoring.scores_recompute(product_id=product.pk)
    rescored = check(recomputed=True)
    assert rescored.score_top[0].pk == items[10].pk
    check(recomputed=False)


@postgresql
@pytest.mark.django_db
def test_a_new_ballot_shows_in_the_vote_column_while_the_orders_stand(
    owner_client, owner, product, scored_backlog, make_member
):
    round = open_round(product, owner, method="borda", shortlist_size=4)
    shortlist = results.candidate_ids(round)
    manual = list(
        BacklogItem.objects.filter(pk__in=shortlist)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )
    voters = [make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER]) for _ in "abc"]
    scoring.ballot_submit(round=round, voter=voters[0], ranking=[[pk] for pk in manual])
    comparison, _ = compare_page(owner_client, product)
    assert [[i.pk for i in tier] for tier in comparison.vote_top] == [[pk] for pk in manual]
    assert (comparison.vote_pairs.agree, comparison.vote_pairs.disagree) == (6, 0)

    for voter in voters[1:]:  # two ballots the other way round outvote the first
        scoring.ballot_submit(round=round, voter=voter, ranking=[[pk] for pk in manual[::-1]])
    comparison, sql = compare_page(owner_client, product)
    assert not read_every_item(sql)  # the items and scores did not change
    assert [[i.pk for i in tier] for tier in comparison.vote_top] == [[pk] for pk in manual[::-1]]
    assert (comparison.vote_pairs.agree, comparison.vote_pairs.disagree) == (0, 6)
    assert comparison.vote_vs_manual == pytest.approx(-1.0)

    # Moving a shortlisted item changes the manual side of the vote's agreement.
    services.item_move(item=BacklogItem.objects.get(pk=manual[3]), actor=owner, to="top")
    comparison, _ = compare_page(owner_client, product)
    assert (comparison.vote_pairs.agree, comparison.vote_pairs.disagree) == (3, 3)


@postgresql
@pytest.mark.django_db
def test_another_products_change_leaves_this_summary_cached(
    owner_client, owner, product, other_product, scored_backlog
):
    compare_page(owner_client, product)
    BacklogItemFactory(product=other_product)
    _, sql = compare_page(owner_client, product)
    assert not read_every_item(sql)
