"""The first hour with a voting round: ballots people can read, a closed ballot that says so,
errors next to the item they are about, what the voter votes on, closing and re-opening by
hand, the adoption's true state, and results in plain words."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from backlog import services as backlog_services
from backlog.models import ProductRoleKind
from prioritisation import services
from prioritisation.models import BenefitEstimate, Confidence, VotingRound
from tests.conftest import HTMX, client_for, count_get_queries
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(product):
    made = [
        BacklogItemFactory(
            product=product, title=f"Choice {n}", description=f"What choice {n} changes."
        )
        for n in range(1, 5)
    ]
    give_score_ranks(made)
    return made


@pytest.fixture
def round(product, owner, items):
    return open_round(product, owner, title="Spring priorities", ballots_visible=True)


@pytest.fixture
def voter(make_member, product, cohorts):
    return make_member(
        product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohorts["Citizens"]
    )


@pytest.fixture
def voter_client(voter):
    return client_for(voter)


def text_of(html: bytes | str, element_id: str | None = None) -> str:
    """The visible text of the page (or of the element with ``element_id``), tags removed
    and whitespace collapsed."""
    html = html.decode() if isinstance(html, bytes) else html
    if element_id:
        start = html.index(f'id="{element_id}"')
        html = html[html.rindex("<", 0, start) :]
        tag = re.match(r"<(\w+)", html).group(1)
        html = html[: html.index(f"</{tag}>") + len(tag) + 3]
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# 1. ---------------------------------------------------------- individual ballots


def test_the_owner_sees_each_ballot_as_titles_in_order_with_ties(owner_client, round, items, voter):
    a, b, c, _d = (i.pk for i in items)
    services.ballot_submit(round=round, voter=voter, ranking=[[c], [a, b]])
    page = owner_client.get(reverse("prioritisation:round_results", args=[round.pk]))
    ballots = text_of(page.content, "ballots")
    assert "[[" not in ballots
    assert "1. Choice 3 2. Choice 1 = tied with Choice 2" in ballots
    assert "Not ranked: Choice 4" in ballots


def test_the_owner_sees_a_dots_ballot_as_titles_with_their_dots(
    owner_client, product, owner, items, voter
):
    round = open_round(product, owner, method="dots", ballots_visible=True)
    services.ballot_submit(round=round, voter=voter, points={items[1].pk: 3, items[0].pk: 1})
    page = owner_client.get(reverse("prioritisation:round_results", args=[round.pk]))
    ballots = text_of(page.content, "ballots")
    assert "{" not in ballots
    assert "Choice 2: 3 dots Choice 1: 1 dot" in ballots


# 2. ---------------------------------------------------------- a closed ballot


def test_a_closed_ballot_is_a_read_only_list_of_what_the_voter_submitted(
    voter_client, round, items, voter
):
    a, b, c, _d = (i.pk for i in items)
    services.ballot_submit(round=round, voter=voter, ranking=[[c], [a, b]])
    services.round_close(round_id=round.pk)
    page = voter_client.get(reverse("prioritisation:ballot", args=[round.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "until then" not in html and "change your ballot" not in html
    assert "drag-handle" not in html and 'name="rank-' not in html and "ballot-form" not in html
    assert "This round closed" in text_of(html)
    assert "1. Choice 3 2. Choice 1 = tied with Choice 2" in text_of(html, "your-ballot")
    assert reverse("prioritisation:round_results", args=[round.pk]) in html
    assert "ballot.js" not in html


def test_a_closed_ballot_says_when_the_voter_did_not_vote(voter_client, round):
    services.round_close(round_id=round.pk)
    page = voter_client.get(reverse("prioritisation:ballot", args=[round.pk]))
    assert "You did not vote in this round." in text_of(page.content)
    assert 'name="rank-' not in page.content.decode()


# 3. ---------------------------------------------------------- errors next to their item


def test_each_bad_position_gets_one_message_next_to_its_own_input(voter_client, round, items):
    a, b, c, _d = items
    response = voter_client.post(
        reverse("prioritisation:ballot", args=[round.pk]),
        {f"rank-{a.pk}": "0", f"rank-{b.pk}": "-3", f"rank-{c.pk}": "first"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert html.count("Position for “Choice 1”: positions start at 1.") == 1
    assert html.count("Position for “Choice 2”: positions start at 1.") == 1
    assert html.count("Position for “Choice 3”: “first” is not a whole number.") == 1
    # Each input is marked invalid and described by its own message.
    for item in (a, b, c):
        tag = re.search(rf'<input[^>]*name="rank-{item.pk}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in tag
        described = re.search(r'aria-describedby="([^"]+)"', tag).group(1).split()
        assert f"rank-{item.pk}-error" in described
        error = text_of(html, f"rank-{item.pk}-error")
        assert f"“{item.title}”" in error
    untouched = re.search(rf'<input[^>]*name="rank-{items[3].pk}"[^>]*>', html).group(0)
    assert "aria-invalid" not in untouched
    # The summary at the top names the items and links to their inputs, without repeating
    # the messages.
    summary = text_of(html, "error-summary")
    assert "3 items need correcting" in summary
    assert all(f"Choice {n}" in summary for n in (1, 2, 3)) and "Choice 4" not in summary
    for item in (a, b, c):
        assert f'href="#rank-{item.pk}"' in html


def test_each_bad_dots_value_gets_its_message_next_to_its_input(
    voter_client, product, owner, items
):
    round = open_round(product, owner, method="dots", dot_budget=10, dot_max_per_item=3)
    response = voter_client.post(
        reverse("prioritisation:ballot", args=[round.pk]),
        {f"dots-{items[0].pk}": "-1", f"dots-{items[1].pk}": "lots", f"dots-{items[2].pk}": "4"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert html.count("Dots for “Choice 1”: dots cannot be negative.") == 1
    assert html.count("Dots for “Choice 2”: “lots” is not a whole number.") == 1
    assert html.count("Dots for “Choice 3”: at most 3 on one item.") == 1
    tag = re.search(rf'<input[^>]*name="dots-{items[0].pk}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in tag and f"dots-{items[0].pk}-error" in tag


# 4. ---------------------------------------------------------- adoption undone


def test_the_round_list_tells_when_an_adopted_order_was_undone(
    owner_client, owner, product, round, items, voter
):
    services.ballot_submit(round=round, voter=voter, ranking=[[items[3].pk]])
    services.round_close(round_id=round.pk)
    round.refresh_from_db()
    services.round_adopt(round=round, actor=owner)
    url = reverse("prioritisation:round_list", args=[product.pk])
    assert "Closed, adopted" in text_of(owner_client.get(url).content)
    backlog_services.order_undo(product=product, actor=owner)
    listing = text_of(owner_client.get(url).content)
    assert "adopted, then undone" in listing
    assert "Closed, adopted " not in listing + " "
    results = text_of(
        owner_client.get(reverse("prioritisation:round_results", args=[round.pk])).content
    )
    assert "then undone" in results


def test_an_undo_of_a_later_reorder_leaves_the_adoption_standing(
    owner_client, owner, product, round, items, voter
):
    services.ballot_submit(round=round, voter=voter, ranking=[[items[3].pk]])
    services.round_close(round_id=round.pk)
    round.refresh_from_db()
    services.round_adopt(round=round, actor=owner)
    backlog_services.order_apply_scores(product=product, actor=owner)
    backlog_services.order_undo(product=product, actor=owner)  # undoes the score order only
    listing = text_of(
        owner_client.get(reverse("prioritisation:round_list", args=[product.pk])).content
    )
    assert "Closed, adopted" in listing and "undone" not in listing


def test_the_round_list_query_count_does_not_grow_with_adopted_rounds(
    owner_client, owner, product, items, voter, django_assert_max_num_queries
):
    """Guards against a query per round for the adoption's reorder (was it undone?)."""
    for n in range(8):
        round = open_round(product, owner, title=f"Round {n}")
        services.ballot_submit(round=round, voter=voter, ranking=[[items[n % 4].pk]])
        services.round_close(round_id=round.pk)
        round.refresh_from_db()
        services.round_adopt(round=round, actor=owner)
        if n % 2:
            backlog_services.order_undo(product=product, actor=owner)
    with django_assert_max_num_queries(12):
        page = owner_client.get(reverse("prioritisation:round_list", args=[product.pk]))
    assert text_of(page.content).count("adopted, then undone") == 4


# 5. ---------------------------------------------------------- what the voter votes on


def _describe(items, cohorts, metrics):
    for n, item in enumerate(items):
        item.cohorts.set([cohorts["Citizens"], cohorts["Colleagues"]])
        BenefitEstimate.objects.create(
            item=item,
            cohort=cohorts["Citizens"],
            metric=metrics["Phone calls avoided"],
            value=Decimal(1200 + n),
            confidence=Confidence.HIGH,
        )
        BenefitEstimate.objects.create(
            item=item,
            cohort=cohorts["Colleagues"],
            metric=metrics["Cash saved"],
            value=Decimal("5000.50"),
        )


def test_the_ballot_shows_each_items_description_benefit_and_link(
    voter_client, round, items, cohorts, metrics
):
    _describe(items, cohorts, metrics)
    html = voter_client.get(reverse("prioritisation:ballot", args=[round.pk])).content.decode()
    first = html[html.index(f'data-item-id="{items[0].pk}"') :]
    first = first[: first.index("</details>") + len("</details>")]
    details = first[first.index("<details") :]
    assert "What choice 1 changes." in details
    words = text_of(first)
    assert "For Citizens and Colleagues" in words
    assert "1,200 calls a month (Phone calls avoided) for Citizens" in words
    assert "£5,000.50 a year (Cash saved) for Colleagues" in words
    assert "1st of 4 open items by score" in words
    assert reverse("backlog:item_detail", args=[items[0].pk]) in first


def test_the_ballot_query_count_does_not_grow_with_the_shortlist(
    client, make_member, product, owner, cohorts, metrics
):
    """Guards against a query per shortlisted item for its cohorts, estimates or score."""
    items = [BacklogItemFactory(product=product, title=f"Item {n}") for n in range(40)]
    give_score_ranks(items)
    _describe(items, cohorts, metrics)
    small = open_round(product, owner, shortlist_size=3)
    large = open_round(product, owner, shortlist_size=40)
    voter = make_member(
        product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohorts["Citizens"]
    )
    for round in (small, large):
        services.ballot_submit(round=round, voter=voter, ranking=[[items[1].pk], [items[0].pk]])
    client.force_login(voter)
    few = count_get_queries(client, reverse("prioritisation:ballot", args=[small.pk]))
    many = count_get_queries(client, reverse("prioritisation:ballot", args=[large.pk]))
    assert many == few


# 6. ---------------------------------------------------------- close now, re-open


def test_the_owner_closes_a_round_now_after_confirming(owner_client, round, items, voter):
    services.ballot_submit(round=round, voter=voter, ranking=[[items[2].pk]])
    results = owner_client.get(reverse("prioritisation:round_results", args=[round.pk]))
    html = results.content.decode()
    url = reverse("prioritisation:round_close", args=[round.pk])
    form = html[html.index(f'action="{url}"') :]
    form = form[: form.index("</form>")]
    assert "hx-confirm=" in form and "Close the voting now" in form
    response = owner_client.post(url)
    assert response.status_code == 302
    round.refresh_from_db()
    assert round.closed_at is not None and round.result["ranking"][0] == [items[2].pk]
    assert round.closes_at > timezone.now()  # the planned closing time stays on record
    followed = owner_client.get(response.url)
    assert "Closed the voting" in text_of(followed.content)


def test_closing_by_htmx_redirects_the_whole_page(owner_client, round):
    response = owner_client.post(reverse("prioritisation:round_close", args=[round.pk]), **HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == reverse(
        "prioritisation:round_results", args=[round.pk]
    )


def test_only_the_product_owner_closes_or_reopens_a_round(
    viewer_client, outsider_client, voter_client, round
):
    for name in ("round_close", "round_reopen"):
        url = reverse(f"prioritisation:{name}", args=[round.pk])
        assert viewer_client.post(url).status_code == 403
        assert voter_client.post(url).status_code == 403
        assert outsider_client.post(url).status_code == 404
    assert VotingRound.objects.get(pk=round.pk).closed_at is None


def test_the_owner_reopens_a_round_closed_by_mistake_and_voting_goes_on(
    owner_client, voter_client, round, items
):
    services.round_close(round_id=round.pk)
    page = text_of(
        owner_client.get(reverse("prioritisation:round_results", args=[round.pk])).content
    )
    assert "Re-open the voting" in page
    response = owner_client.post(reverse("prioritisation:round_reopen", args=[round.pk]))
    assert response.status_code == 302
    round.refresh_from_db()
    assert round.closed_at is None and round.result is None
    saved = voter_client.post(
        reverse("prioritisation:ballot", args=[round.pk]), {f"rank-{items[0].pk}": "1"}
    )
    assert saved.status_code == 302


def test_reopening_is_refused_once_the_result_was_adopted(owner_client, owner, round, items, voter):
    services.ballot_submit(round=round, voter=voter, ranking=[[items[1].pk]])
    services.round_close(round_id=round.pk)
    round.refresh_from_db()
    services.round_adopt(round=round, actor=owner)
    response = owner_client.post(
        reverse("prioritisation:round_reopen", args=[round.pk]), follow=True
    )
    assert "already adopted" in text_of(response.content)
    assert VotingRound.objects.get(pk=round.pk).closed_at is not None
    assert "Re-open the voting" not in text_of(response.content)


def test_reopening_is_refused_after_the_planned_closing_time(owner_client, round):
    VotingRound.objects.filter(pk=round.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    services.round_close(round_id=round.pk)
    response = owner_client.post(
        reverse("prioritisation:round_reopen", args=[round.pk]), follow=True
    )
    assert "closing time has passed" in text_of(response.content)
    assert VotingRound.objects.get(pk=round.pk).closed_at is not None


def test_closing_a_closed_round_or_reopening_an_open_one_says_so(owner_client, round):
    reopen = owner_client.post(reverse("prioritisation:round_reopen", args=[round.pk]), follow=True)
    assert "is open already" in text_of(reopen.content)
    services.round_close(round_id=round.pk)
    close = owner_client.post(reverse("prioritisation:round_close", args=[round.pk]), follow=True)
    assert "closed already" in text_of(close.content)


# 7. ---------------------------------------------------------- plain words


def test_the_results_lead_with_plain_words_and_keep_the_precise_terms(
    viewer_client, round, items, make_member, product, cohorts
):
    a, b, c, d = (i.pk for i in items)
    for ranking in ([[a], [b], [c], [d]], [[a], [c], [b], [d]]):
        voter = make_member(
            product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohorts["Citizens"]
        )
        services.ballot_submit(round=round, voter=voter, ranking=ranking)
    html = viewer_client.get(reverse("prioritisation:round_results", args=[round.pk])).content
    words = text_of(html)
    # Voters: 5 of 6 pairs the same way round; consensus a > b = c > d against score a b c d.
    assert "Voters agree with each other on 83% of the pairs of items (moderate agreement)" in words
    assert "The vote order and the score order agree on 100% of the pairs" in words
    assert "the item that beats each other item head to head comes first" in words
    html = html.decode()
    for term in ("Kendall", "Schulze method"):
        assert term in html
        before = html[: html.index(term)]
        assert before.count("<details") > before.count("</details>"), f"{term} not in details"
    assert html.index("83%") < html.index("Kendall")


def test_a_round_that_has_not_opened_cannot_be_closed_early(product, owner, items):
    later = timezone.now() + timedelta(days=1)
    round = open_round(
        product, owner, opens_at=later, closes_at=later + timedelta(days=1), title="Later"
    )
    with pytest.raises(ValidationError, match="has not opened yet"):
        services.round_close_now(round=round, actor=owner)
    assert VotingRound.objects.get(pk=round.pk).closed_at is None
