"""The item page and scoring settings in plain words: units, figures a person reads, the
comparison with the items above, cohorts scored but not targeted, read-only tables."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from backlog.models import ProductRoleKind
from prioritisation import services
from prioritisation.services import EstimateCell
from tests.conftest import client_for
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db


class Tables(HTMLParser):
    """Every table of a page: its caption and the text of each body row's cells."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._in_caption = False
        self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[-1]["rows"].append([])
        elif tag in {"th", "td"} and self._in_body:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag == "tbody":
            self._in_body = False
        elif tag in {"th", "td"} and self._cell is not None:
            self.tables[-1]["rows"][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._in_caption:
            self.tables[-1]["caption"] += data
        if self._cell is not None:
            self._cell.append(data)

    def titled(self, words: str) -> dict:
        found = [t for t in self.tables if words in t["caption"]]
        assert len(found) == 1, [t["caption"] for t in self.tables]
        return found[0]


def section(html: str, element_id: str) -> str:
    """The HTML of the section with this id (up to its closing tag)."""
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


def beyond_two_figures(text: str) -> list[str]:
    """The numbers in ``text`` shown with more than two significant figures."""
    found = []
    for number in re.findall(r"\d[\d,]*(?:\.\d+)?", text):
        digits = number.replace(",", "")
        digits = digits.replace(".", "").lstrip("0") if "." in digits else digits.rstrip("0")
        if len(digits) > 2:
            found.append(number)
    return found


def visible_text(html: str) -> str:
    """Text outside <details> and visually hidden spans, in one line."""
    html = re.sub(r"<details.*?</details>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def estimate(cohort, metric, value, confidence="high", evidence=""):
    return EstimateCell(
        cohort=cohort,
        metric=metric,
        value=Decimal(value),
        confidence=confidence,
        evidence=evidence,
    )


@pytest.fixture
def scored(product, owner, cohorts, metrics):
    """#1 "Text tenants" (Colleagues, staff hours) above #2 "Book a repair slot" (Citizens,
    cash and staff hours); Leaders and three metrics score nothing for either."""
    top = BacklogItemFactory(product=product, title="Text tenants", effort=1)
    top.cohorts.add(cohorts["Colleagues"])
    services.estimates_save(
        item=top,
        actor=owner,
        cells=[estimate(cohorts["Colleagues"], metrics["Staff hours saved"], "300")],
    )
    item = BacklogItemFactory(product=product, title="Book a repair slot", effort=3)
    item.cohorts.add(cohorts["Citizens"])
    services.estimates_save(
        item=item,
        actor=owner,
        cells=[
            estimate(
                cohorts["Citizens"],
                metrics["Cash saved"],
                "14960",
                evidence="Postage and printing, last year's invoices.",
            ),
            estimate(cohorts["Citizens"], metrics["Staff hours saved"], "12", "medium"),
        ],
    )
    product.benefit_haircut = Decimal("0.10")
    product.optimism_reason = "Our last three releases took half as long again."
    product.save()
    services.scores_recompute(product_id=product.pk)
    return top, item


def item_page(client, item) -> str:
    response = client.get(reverse("backlog:item_detail", args=[item.pk]))
    assert response.status_code == 200
    return response.content.decode()


# ---------------------------------------------------------------- 2. plain words


def test_the_benefit_haircut_is_said_in_a_sentence_and_named_only_in_details(owner_client, product):
    html = owner_client.get(
        reverse("prioritisation:scoring_settings", args=[product.pk])
    ).content.decode()
    start = html.index('<form method="post" class="form"')
    form = html[start : html.index("</form>", start)]
    assert "haircut" not in visible_text(form).lower()
    assert "Estimates of benefit tend to be too high" in form
    terms = re.findall(r"<details.*?</details>", html, flags=re.S)
    assert any("Benefit haircut" in t for t in terms)


def test_the_item_page_says_what_the_optimism_adjustments_do(owner_client, scored):
    _top, item = scored
    panel = section(item_page(owner_client, item), "score-panel")
    assert "haircut" not in visible_text(panel).lower()
    assert "uplift" not in visible_text(panel).lower()
    assert (
        "To allow for optimism, effort counts 54% more than estimated and benefit 10% less."
        in visible_text(panel)
    )
    details = re.findall(r"<details.*?</details>", panel, flags=re.S)
    assert any("benefit haircut" in d and "effort uplift" in d for d in details)


# ---------------------------------------------------------------- 3. units and figures


def test_scores_say_what_they_measure_in_two_significant_figures(owner_client, scored):
    _top, item = scored
    panel = section(item_page(owner_client, item), "score-panel")
    facts = visible_text(panel[panel.index('<dl class="facts">') : panel.index("</dl>")])
    assert "benefit per point of effort" in facts
    assert not beyond_two_figures(facts)
    assert "4.6 points after allowing for optimism; 3 points as estimated" in facts
    assert "3.0 points" not in facts


def test_the_summary_gives_effort_in_points_without_a_trailing_zero(owner_client, scored):
    _top, item = scored
    summary = visible_text(section(item_page(owner_client, item), "item-summary"))
    assert "Effort 3 points" in summary


def test_read_only_estimates_read_with_their_units(viewer_client, scored):
    _top, item = scored
    estimates = Tables(section(item_page(viewer_client, item), "estimates"))
    rows = estimates.titled("Benefit estimates")["rows"]
    assert [
        "Citizens",
        "Cash saved",
        "£14,960 a year",
        "High",
        ("Postage and printing, last year's invoices."),
    ] in [[cell.replace("&#x27;", "'") for cell in row] for row in rows]
    assert ["Citizens", "Staff hours saved", "12 hours a month", "Medium", "None given"] in rows


def test_editors_see_each_metrics_unit_in_words_beside_its_inputs(owner_client, scored):
    _top, item = scored
    estimates = section(item_page(owner_client, item), "estimates")
    assert "£ a year" in estimates and "hours a month" in estimates
    assert "£ per year" not in visible_text(estimates)


# ---------------------------------------------------------------- 4. why not higher


def test_why_not_higher_shows_a_cohort_table_and_a_metric_table_without_empty_rows(
    owner_client, scored
):
    _top, item = scored
    html = item_page(owner_client, item)
    assert "Why #2 and not higher?" in html
    tables = Tables(section(html, "score-panel"))
    by_cohort = tables.titled("Gap with #1 by cohort")["rows"]
    by_metric = tables.titled("Gap with #1 by metric")["rows"]
    assert sorted(row[0] for row in by_cohort) == ["Citizens", "Colleagues"]
    assert sorted(row[0] for row in by_metric) == ["Cash saved", "Staff hours saved"]
    for row in by_cohort + by_metric:
        assert not beyond_two_figures(" ".join(row[1:]))


# ---------------------------------------------------------------- 5. untargeted cohorts


def test_an_item_for_no_cohort_that_scores_for_one_says_so(owner_client, owner, product, scored):
    cohorts = {c.name: c for c in product.organisation.cohorts.all()}
    metrics = {m.name: m for m in product.organisation.metrics.all()}
    loose = BacklogItemFactory(product=product, title="Tidy the letters", effort=2)
    services.estimates_save(
        item=loose,
        actor=owner,
        cells=[estimate(cohorts["Leaders"], metrics["Satisfaction"], "13")],
    )
    panel = visible_text(section(item_page(owner_client, loose), "score-panel"))
    assert (
        "This item names no cohort it is for, yet its benefit estimates score it for Leaders."
        in panel
    )


def test_an_item_whose_scoring_cohorts_are_its_targets_says_nothing_more(owner_client, scored):
    _top, item = scored
    panel = visible_text(section(item_page(owner_client, item), "score-panel"))
    assert "names no cohort" not in panel and "not among the cohorts" not in panel


# ---------------------------------------------------------------- 6. read-only roles


@pytest.mark.parametrize(
    "role",
    [ProductRoleKind.VIEWER, ProductRoleKind.BUSINESS_VOTER, ProductRoleKind.KEY_USER],
)
def test_read_only_roles_see_tables_not_disabled_inputs(make_member, product, scored, role):
    _top, item = scored
    client = client_for(make_member(product=product, roles=[role]))
    html = item_page(client, item)
    estimates = section(html, "estimates")
    assert "<input" not in estimates and "<select" not in estimates
    assert "<textarea" not in estimates and "disabled" not in estimates
    assert "£14,960 a year" in estimates
    settings = client.get(
        reverse("prioritisation:scoring_settings", args=[product.pk])
    ).content.decode()
    main = settings[settings.index("<main") : settings.index("</main>")]
    assert "<input" not in main and "<select" not in main and "disabled" not in main
    assert "Benefit per effort" in visible_text(main)
    assert "Effort counts 54% more than estimated" in visible_text(main)
    assert "Benefit counts 10% less than estimated" in visible_text(main)


def test_read_only_roles_see_the_methods_inputs_as_a_table(viewer_client, owner, product):
    product.scoring_method = "rice"
    product.save()
    item = BacklogItemFactory(product=product, title="Book a repair slot", effort=3)
    services.scoring_inputs_update(
        item=item,
        actor=owner,
        rice_reach=400,
        rice_impact=Decimal("2.00"),
        rice_confidence="medium",
        rice_effort_months=None,
    )
    inputs = section(item_page(viewer_client, item), "scoring-inputs")
    assert "<input" not in inputs and "<select" not in inputs and "<label" not in inputs
    rows = Tables(inputs).titled("RICE inputs")["rows"]
    assert rows == [
        ["Reach (people)", "400"],
        ["Impact", "2 high"],
        ["Confidence", "Medium (80%)"],
        ["Effort (person-months)", "Not set"],
    ]
