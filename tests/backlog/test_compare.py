"""The compare view: manual order against score order (and the latest vote)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from backlog.compare import order_comparison
from backlog.models import ProductRoleKind
from prioritisation import services
from prioritisation.models import ItemScore
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db


def test_identical_orders_have_tau_one_and_no_disagreements(product):
    items = BacklogItemFactory.create_batch(5, product=product)
    give_score_ranks(items, [1, 2, 3, 4, 5])
    comparison = order_comparison(product=product)
    assert comparison.tau == pytest.approx(1.0)
    assert comparison.disagreements == []


def test_reversed_orders_have_tau_minus_one_and_the_biggest_gaps_first(product):
    items = BacklogItemFactory.create_batch(5, product=product)
    give_score_ranks(items, [5, 4, 3, 2, 1])
    comparison = order_comparison(product=product)
    assert comparison.tau == pytest.approx(-1.0)
    gaps = [(d.item.pk, d.manual_rank, d.score_rank) for d in comparison.disagreements]
    # Items 1 and 5 are 4 places out; 2 and 4 two places; the middle one agrees.
    assert gaps[:2] == [(items[0].pk, 1, 5), (items[4].pk, 5, 1)]
    assert len(gaps) == 4
    assert comparison.disagreements[1].gap == 4  # the score would put it 4 places higher


def test_closed_items_are_left_out_of_the_comparison(product):
    items = BacklogItemFactory.create_batch(3, product=product)
    done = BacklogItemFactory(product=product, status="done")
    give_score_ranks(items, [1, 2, 3])
    comparison = order_comparison(product=product)
    assert comparison.open_items == 3
    assert done not in comparison.manual_top


def test_the_vote_order_joins_as_a_third_column(product, owner, make_member, owner_client):
    items = BacklogItemFactory.create_batch(3, product=product)
    give_score_ranks(items, [1, 2, 3])
    now = timezone.now()
    round = services.round_create(
        product=product,
        actor=owner,
        title="Which first?",
        method="borda",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        shortlist_size=3,
    )
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    services.ballot_submit(
        round=round, voter=voter, ranking=[[items[2].pk], [items[1].pk], [items[0].pk]]
    )
    comparison = order_comparison(product=product)
    assert [tier[0].pk for tier in comparison.vote_top] == [items[2].pk, items[1].pk, items[0].pk]
    assert comparison.vote_vs_manual == pytest.approx(-1.0)
    response = owner_client.get(reverse("backlog:compare", args=[product.pk]))
    assert b"Vote order" in response.content and b"Which first?" in response.content


def test_compare_view_permissions(client, outsider_client, viewer_client, product):
    url = reverse("backlog:compare", args=[product.pk])
    assert client.get(url).url.startswith(reverse("login"))
    assert outsider_client.get(url).status_code == 404
    assert viewer_client.get(url).status_code == 200


def test_compare_query_count_does_not_grow_with_the_backlog(
    owner_client, product, django_assert_max_num_queries
):
    """Guards against loading an item or score per row: 2,000 items, same queries."""
    items = BacklogItemFactory.create_batch(2000, product=product)
    ItemScore.objects.bulk_create(
        ItemScore(
            item=item,
            product=product,
            method="benefit_per_effort",
            rank=2000 - i,
            computed_at=timezone.now(),
        )
        for i, item in enumerate(items)
    )
    with django_assert_max_num_queries(14):
        assert owner_client.get(reverse("backlog:compare", args=[product.pk])).status_code == 200


def test_the_page_says_in_words_how_far_the_orders_agree(owner_client, product):
    """Score ranks 3 2 1 5 4 against manual 1 2 3 4 5: of the ten pairs, four are put
    the other way round (1-2, 1-3, 2-3, 4-5), so the orders agree on 60%."""
    items = BacklogItemFactory.create_batch(5, product=product)
    give_score_ranks(items, [3, 2, 1, 5, 4])
    comparison = order_comparison(product=product)
    assert (comparison.pairs.agree, comparison.pairs.disagree) == (6, 4)
    assert comparison.tau == pytest.approx(0.2)
    html = owner_client.get(reverse("backlog:compare", args=[product.pk])).content.decode()
    assert (
        "The product owner’s order and the score order agree on <strong>60%</strong> of pairs "
        "of items (weak agreement)" in html
    )
    # The statistician's figure is kept, out of the way.
    details = html[html.index("<details") : html.index("</details>")]
    assert "Kendall’s tau" in details and "0.20" in details
    assert "Kendall" not in html[: html.index("<details")]


def test_the_vote_agreement_is_in_words_with_ties_left_out(
    owner, make_member, owner_client, product
):
    items = BacklogItemFactory.create_batch(3, product=product)
    give_score_ranks(items, [1, 2, 3])
    round = open_round(product, owner, title="Which first?", method="borda", shortlist_size=3)
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    # The vote ties the first two and puts the third above both: pair 1-2 is tied.
    services.ballot_submit(
        round=round, voter=voter, ranking=[[items[2].pk], [items[0].pk, items[1].pk]]
    )
    comparison = order_comparison(product=product)
    assert (comparison.vote_pairs.agree, comparison.vote_pairs.disagree) == (0, 2)
    assert comparison.vote_pairs.tied == 1
    html = owner_client.get(reverse("backlog:compare", args=[product.pk])).content.decode()
    assert "agree on <strong>0%</strong> of the 2 pairs the vote puts in order" in html
    assert "strong disagreement" in html
