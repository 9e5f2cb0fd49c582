"""Every kind of page, as a person with the right role sees it, passes axe-core's WCAG 2.2
AA checks (no serious or critical violations) and fits a 375 px phone without sideways
scrolling."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from backlog.models import BacklogItem, Product, ShowAndTell
from customers.models import Cohort
from prioritisation.models import BenefitMetric, VotingRound

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())
    product = Product.objects.order_by("pk").first()
    return {
        "product": product,
        "item": BacklogItem.objects.filter(product=product).order_by("rank_key").first(),
        "cohort": Cohort.objects.order_by("pk").first(),
        "metric": BenefitMetric.objects.order_by("pk").first(),
        "round": VotingRound.objects.filter(product=product).first(),
        "session": ShowAndTell.objects.filter(product=product).first(),
    }


def pages_for_admin(d) -> list[str]:
    p, i, r, s = d["product"].pk, d["item"].pk, d["round"].pk, d["session"].pk
    return [
        "/",
        f"/products/{p}/",
        f"/products/{p}/?order=score",
        f"/items/{i}/",
        f"/items/{i}/edit/",
        f"/items/{i}/history/",
        f"/products/{p}/items/new/",
        f"/products/{p}/compare/",
        f"/products/{p}/scoring/",
        "/organisation/cohorts/",
        f"/organisation/cohorts/{d['cohort'].pk}/edit/",
        "/organisation/metrics/",
        "/organisation/audit/",
        f"/organisation/metrics/{d['metric'].pk}/edit/",
        "/organisation/cohorts/new/",
        f"/organisation/cohorts/{d['cohort'].pk}/delete/",
        "/organisation/metrics/new/",
        f"/organisation/metrics/{d['metric'].pk}/delete/",
        f"/products/{p}/rounds/",
        f"/products/{p}/rounds/new/",
        f"/rounds/{r}/",
        f"/products/{p}/show-and-tell/",
        f"/show-and-tell/{s}/",
        f"/show-and-tell/{s}/present/?step=4",
    ]


@pytest.mark.parametrize("width", [1280, 375])
def test_every_page_passes_axe_and_fits_the_screen(
    demo, browser, live_server, sign_in, check_a11y, width
):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    sign_in(page, "admin", "benefit-demo")
    problems = []
    for path in pages_for_admin(demo):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        check_a11y(page)
        overflow = page.evaluate("document.documentElement.scrollWidth") - width
        if overflow > 0:
            problems.append(f"{path} is {overflow} px too wide")
    context.close()
    assert not problems, problems


def test_the_ballot_page_passes_axe(demo, page, live_server, sign_in, check_a11y):
    sign_in(page, "voter", "benefit-demo")
    page.goto(f"{live_server.url}/rounds/{demo['round'].pk}/ballot/")
    check_a11y(page)
