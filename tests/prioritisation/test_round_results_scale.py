"""Voting results at scale: agreement between voters counted exactly over everyone in
O(m²), the count kept per set of ballots (and frozen once closed), and a results page of a
readable size whatever the shortlist, with the whole head-to-head table as a CSV."""

from __future__ import annotations

import csv
import io
import itertools
import math
import random
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse

from backlog.models import BacklogItem, ProductRoleKind
from prioritisation import results, services, voting
from prioritisation.agreement import (
    PairAgreement,
    mean_tau_b_between_voters,
    order_agreement,
    untied_pairs,
    voters_agreement,
)
from prioritisation.models import RoundTally, VotingRound
from tests.conftest import HTMX, count_get_queries
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db


def full_order(ranking: list[list[int]], items: list[int]) -> list[list[int]]:
    ranked = {i for tier in ranking for i in tier}
    rest = [i for i in items if i not in ranked]
    return [list(t) for t in ranking] + ([rest] if rest else [])


def random_ballot(rng: random.Random, items: list[int]) -> list[list[int]]:
    """Some of the items, best first, with ties."""
    chosen = rng.sample(items, rng.randint(0, len(items)))
    tiers: list[list[int]] = []
    for item in chosen:
        if tiers and rng.random() < 0.3:
            tiers[-1].append(item)
        else:
            tiers.append([item])
    return tiers


def tau_b_by_definition(a: list, b: list) -> float:
    """Kendall's tau-b pair by pair (what results.compute used to call for every two voters)."""
    place_a = {i: n for n, t in enumerate(a) for i in t}
    place_b = {i: n for n, t in enumerate(b) for i in t}
    s = untied_a = untied_b = 0
    for x, y in itertools.combinations(place_a, 2):
        da = np.sign(place_a[x] - place_a[y])
        db = np.sign(place_b[x] - place_b[y])
        s += da * db
        untied_a += da != 0
        untied_b += db != 0
    return s / math.sqrt(untied_a * untied_b) if untied_a and untied_b else math.nan


@pytest.mark.parametrize("seed", range(6))
def test_agreement_between_voters_from_the_matrix_is_every_pair_of_voters_counted(seed):
    rng = random.Random(seed)
    items = list(range(rng.randint(2, 7)))
    ballots = [random_ballot(rng, items) for _ in range(rng.randint(2, 9))]
    orders = [full_order(b, items) for b in ballots]
    read = [[t if len(t) > 1 else t[0] for t in b] for b in ballots]

    above = voting.pairwise([(b, 1.0) for b in read], candidates=items)
    pooled = sum(
        (order_agreement(a, b) for a, b in itertools.combinations(orders, 2)), PairAgreement()
    )
    assert voters_agreement(above, len(ballots)) == pooled

    untied = [untied_pairs([len(t) for t in b], len(items)) for b in ballots]
    apart = [(r, 1 / math.sqrt(u)) for r, u in zip(read, untied, strict=True) if u]
    scaled = voting.pairwise(apart, candidates=items)
    taus = [tau_b_by_definition(a, b) for a, b in itertools.combinations(orders, 2)]
    taus = [t for t in taus if not math.isnan(t)]
    found = mean_tau_b_between_voters(scaled, len(apart))
    if taus:
        # The pairwise matrix keeps 9 decimals (voting._DECIMALS), so 1/√u weights round.
        assert found == pytest.approx(sum(taus) / len(taus), abs=1e-7)
    else:
        assert found is None


@pytest.fixture
def items(product):
    made = [BacklogItemFactory(product=product, title=f"Choice {n}") for n in range(1, 6)]
    give_score_ranks(made)
    return made


@pytest.fixture
def round(product, owner, items):
    return open_round(product, owner, shortlist_size=5, ballots_visible=True)


def vote(round, make_member, product, cohort, ranking):
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohort)
    services.ballot_submit(round=round, voter=voter, ranking=ranking)
    return voter


def test_agreement_between_voters_counts_every_voter_not_a_sample(
    round, items, make_member, product, cohorts
):
    """Over 100 voters the old count took a sample of 100; the matrix counts all of them."""
    rng = random.Random(7)
    ids = [i.pk for i in items]
    cohort_list = list(cohorts.values())
    ballots = [random_ballot(rng, ids) for _ in range(120)]
    for n, ballot in enumerate(ballots):
        vote(round, make_member, product, cohort_list[n % 3], ballot)
    result = results.compute(round)
    orders = [full_order(b, ids) for b in ballots]
    pooled = sum(
        (order_agreement(a, b) for a, b in itertools.combinations(orders, 2)), PairAgreement()
    )
    assert result["voter_pairs"] == {"agree": pooled.agree, "disagree": pooled.disagree}
    taus = [tau_b_by_definition(a, b) for a, b in itertools.combinations(orders, 2)]
    taus = [t for t in taus if not math.isnan(t)]
    assert result["voter_agreement"] == pytest.approx(sum(taus) / len(taus), abs=1e-7)


def test_kendall_tau_is_the_same_for_a_thousand_items_without_a_million_pairs():
    rng = np.random.default_rng(3)
    a = [list(t) for t in np.array_split(rng.permutation(1000), 300)]
    b = rng.permutation(1000).tolist()
    place_a = {i: n for n, t in enumerate(a) for i in t}
    x = np.array([place_a[i] for i in range(1000)])
    y = np.array([b.index(i) for i in range(1000)])
    from scipy.stats import kendalltau

    assert voting.kendall_tau(a, b) == pytest.approx(kendalltau(x, y).statistic, abs=1e-12)


# The tally: counted once per set of ballots -------------------------------------------------


@pytest.fixture
def counts(monkeypatch):
    """How many times the ballots were counted."""
    calls = []
    real = results._count

    def counting(round, cohorts):
        calls.append(round.pk)
        return real(round, cohorts)

    monkeypatch.setattr(results, "_count", counting)
    return calls


def test_the_result_is_counted_once_per_set_of_ballots(
    round, items, make_member, product, cohorts, viewer_client, counts
):
    url = reverse("prioritisation:round_results", args=[round.pk])
    a, b = items[0].pk, items[1].pk
    voter = vote(round, make_member, product, cohorts["Citizens"], [[a], [b]])
    for _ in range(3):
        assert viewer_client.get(url).status_code == 200
        assert viewer_client.get(url, **HTMX).status_code == 200
    assert len(counts) == 1
    services.ballot_submit(round=round, voter=voter, ranking=[[b], [a]])
    page = viewer_client.get(url)
    assert len(counts) == 2
    assert page.content.index(b"Choice 2") < page.content.index(b"Choice 1")
    viewer_client.get(url)
    assert len(counts) == 2


def test_a_voice_weight_change_is_counted_again(
    round, items, make_member, product, cohorts, viewer_client, counts
):
    vote(round, make_member, product, cohorts["Citizens"], [[items[0].pk]])
    url = reverse("prioritisation:round_results", args=[round.pk])
    viewer_client.get(url)
    cohorts["Citizens"].voice_weight = Decimal("2.5")
    cohorts["Citizens"].save()
    viewer_client.get(url)
    assert len(counts) == 2


def test_a_closed_round_serves_its_frozen_result_and_never_counts_again(
    round, items, make_member, product, cohorts, viewer_client, monkeypatch
):
    vote(round, make_member, product, cohorts["Citizens"], [[items[2].pk], [items[0].pk]])
    services.round_close(round_id=round.pk)
    stored = VotingRound.objects.get(pk=round.pk).result
    assert "pairwise" not in stored  # the matrix is kept once, in the tally
    assert RoundTally.objects.filter(round=round).exists()

    def refuse(*args, **kwargs):
        raise AssertionError("a closed round was counted again")

    monkeypatch.setattr(results, "_count", refuse)
    cohorts["Citizens"].voice_weight = Decimal("3")  # would change a live count
    cohorts["Citizens"].save()
    page = viewer_client.get(reverse("prioritisation:round_results", args=[round.pk]))
    assert page.status_code == 200 and b"this result is frozen" in page.content
    full = results.round_result(VotingRound.objects.get(pk=round.pk))
    index = {pk: i for i, pk in enumerate(full["candidates"])}
    assert full["pairwise"][index[items[2].pk]][index[items[0].pk]] == pytest.approx(1.0)


def test_a_result_frozen_with_its_matrix_inside_still_reads(round, items, viewer_client):
    """Rounds closed before the tally kept the matrix in the result itself."""
    ids = [i.pk for i in items]
    frozen = {
        "method": "schulze",
        "candidates": ids,
        "ranking": [[pk] for pk in ids],
        "scores": {},
        "pairwise": [[0.0 if i == j else float(i < j) for j in range(5)] for i in range(5)],
        "by_cohort": {},
        "turnout": {},
        "ballots": 1,
        "voter_agreement": None,
        "vote_vs_score": 1.0,
        "score_order": ids,
    }
    VotingRound.objects.filter(pk=round.pk).update(closed_at=round.opens_at, result=frozen)
    page = viewer_client.get(reverse("prioritisation:round_results", args=[round.pk]))
    assert page.status_code == 200 and b"<strong>1</strong>" in page.content


# The page: a readable part of any shortlist --------------------------------------------------


def big_round(product, owner, size: int):
    """A round on ``size`` open items, bulk-made (more than once per product if need be)."""
    start = BacklogItem.objects.filter(product=product).count()
    made = BacklogItem.objects.bulk_create(
        BacklogItem(
            product=product, title=f"Long shortlist item {n:04d}", rank_key=f"k{start + n:05d}"
        )
        for n in range(size)
    )
    give_score_ranks(made, range(start + 1, start + size + 1))
    ids = [i.pk for i in made]
    return (
        open_round(product, owner, shortlist_size=None, item_ids=ids, ballots_visible=True),
        made,
    )


@pytest.mark.parametrize("htmx", [False, True])
def test_a_thousand_item_shortlist_gives_a_page_under_200_kb(
    product, owner, owner_client, make_member, cohorts, htmx
):
    round, made = big_round(product, owner, 1000)
    rng = random.Random(1)
    for n in range(5):
        chosen = rng.sample(made, 20)
        vote(round, make_member, product, list(cohorts.values())[n % 3], [[i.pk] for i in chosen])
    page = owner_client.get(
        reverse("prioritisation:round_results", args=[round.pk]), **(HTMX if htmx else {})
    )
    assert page.status_code == 200
    assert len(page.content) < 200_000, len(page.content)
    html = page.content.decode()
    assert html.count('class="heat-self"') == 20  # a 20 × 20 window of the table
    assert "Download the whole table" in html
    assert "The first 20 of 1,000 items" in html


def test_the_results_page_queries_do_not_grow_with_the_shortlist(
    product, owner, owner_client, make_member, cohorts
):
    """Guards against a query per candidate, per cohort or per shown item, on the look that
    counts the ballots and on the looks that read the kept count."""
    found = []
    for size in (6, 300):
        round, made = big_round(product, owner, size)
        for n in range(3):
            ranking = [[made[(n + k) % size].pk] for k in range(4)]
            vote(round, make_member, product, list(cohorts.values())[n % 3], ranking)
        url = reverse("prioritisation:round_results", args=[round.pk])
        found.append((count_get_queries(owner_client, url), count_get_queries(owner_client, url)))
    assert found[0] == found[1], found
    counting, reading = found[1]
    assert reading < counting <= 20


def test_the_head_to_head_pages_through_the_consensus_and_more_places_show(
    product, owner, owner_client, make_member, cohorts
):
    round, made = big_round(product, owner, 60)
    ranking = [[i.pk] for i in made]  # one voter: the consensus is the shortlist's order
    vote(round, make_member, product, cohorts["Citizens"], ranking)
    url = reverse("prioritisation:round_results", args=[round.pk])
    html = owner_client.get(url, {"from": "21"}).content.decode()
    assert "Shown: places 21 to 40 of the consensus" in html
    assert "21. Long shortlist item 0020" in html and "41. Long" not in html
    assert "from=1" in html and "from=41" in html
    html = owner_client.get(url, {"places": "45"}).content.decode()
    assert "Long shortlist item 0044" in html and "Long shortlist item 0045</a>" not in html
    # Nonsense asks for the defaults, never a 500.
    for bad in ({"from": "-3"}, {"from": "x"}, {"places": "99999999"}, {"ballots": "0"}):
        assert owner_client.get(url, bad).status_code == 200


def test_the_whole_head_to_head_table_downloads_as_csv_with_formulas_neutralised(
    round, items, make_member, product, cohorts, viewer_client
):
    BacklogItem.objects.filter(pk=items[1].pk).update(title="=HYPERLINK(1)")
    a, b, c = items[0].pk, items[1].pk, items[2].pk
    vote(round, make_member, product, cohorts["Citizens"], [[b], [a], [c]])
    vote(round, make_member, product, cohorts["Colleagues"], [[b], [c]])
    response = viewer_client.get(reverse("prioritisation:round_pairwise_csv", args=[round.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 6 and all(len(r) == 8 for r in rows)
    assert rows[0][3] == "'=HYPERLINK(1)" and rows[1][2] == "'=HYPERLINK(1)"
    assert rows[1][:2] == ["1", str(b)]  # consensus order: b first
    place = {int(r[1]): n for n, r in enumerate(rows[1:], start=3)}
    assert float(rows[place[a] - 2][place[c]]) > 0  # a over c: the first voter
    assert rows[1][3] == "0"


def test_the_csv_is_for_members_of_the_rounds_organisation_only(round, outsider_client, client):
    url = reverse("prioritisation:round_pairwise_csv", args=[round.pk])
    assert outsider_client.get(url).status_code == 404
    assert client.get(url).status_code == 302
