"""Numbers for people: units from the metric, thousands separators, two significant figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prioritisation.words import (
    amount,
    and_list,
    figures_apart,
    optimism_sentence,
    percent,
    points,
    quantity,
    score_meaning,
    share_of,
    signed,
    significant,
    unit_words,
)


@pytest.mark.parametrize(
    ("value", "unit", "words"),
    [
        (Decimal("14960.00"), "£ per year", "£14,960 a year"),
        (Decimal("12.50"), "£ per year", "£12.50 a year"),
        (Decimal("-300"), "£ per year", "−£300 a year"),
        (Decimal("12"), "hours per month", "12 hours a month"),
        (Decimal("1"), "hours per month", "1 hour a month"),
        (Decimal("7.50"), "calls per month", "7.5 calls a month"),
        (Decimal("1250000"), "calls per week", "1,250,000 calls a week"),
        (Decimal("13"), "points (0–100)", "13 points (0–100)"),
        (Decimal("6"), "days", "6 days"),
        (Decimal("1"), "days", "1 day"),
        (Decimal("4"), "cases per hour", "4 cases an hour"),
        (Decimal("3"), "visits per tenant", "3 visits per tenant"),
        (Decimal("2"), "", "2"),
        (None, "days", ""),
    ],
)
def test_a_quantity_reads_with_its_unit(value, unit, words):
    assert quantity(value, unit) == words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (Decimal("5"), "5 points"),
        (Decimal("1.0"), "1 point"),
        (Decimal("2.50"), "2.5 points"),
        (4.62, "4.6 points"),
        (None, "not estimated"),
    ],
)
def test_effort_reads_in_points(value, words):
    assert points(value) == words


@pytest.mark.parametrize(
    ("value", "figures", "words"),
    [
        (0.459, 2, "0.46"),
        (1.808, 2, "1.8"),
        (0.0793, 2, "0.079"),
        (12.345, 2, "12"),
        (4837.2, 2, "4,800"),
        (0.0, 2, "0"),
        (-0.2051, 2, "−0.21"),
        (0.45912, 3, "0.459"),
        (2.0, 2, "2"),
    ],
)
def test_scores_show_significant_figures_not_three_decimals(value, figures, words):
    assert significant(value, figures) == words


def test_signed_gaps_carry_their_sign():
    assert signed(1.349) == "+1.3"
    assert signed(-0.2294) == "−0.23"
    assert signed(0.0) == "0"


def test_two_different_scores_get_enough_figures_to_tell_them_apart():
    assert figures_apart(0.462, 0.459) == 3
    assert figures_apart(1.808, 0.459) == 2
    assert significant(0.462, figures_apart(0.462, 0.4619)) == "0.462"
    assert figures_apart(0.5, 0.5) == 2


def test_a_share_reads_as_a_whole_percentage():
    assert percent(0.6) == "60%"
    assert percent(0.004) == "0.4%"
    assert percent(1) == "100%"
    assert percent(None) == ""


def test_each_method_says_what_its_score_measures():
    assert score_meaning("benefit_per_effort") == "benefit per point of effort"
    assert "person-month" in score_meaning("rice")
    assert score_meaning("unknown") == "score"


@pytest.mark.parametrize(
    ("uplift", "haircut", "sentence"),
    [
        (
            Decimal("0.54"),
            Decimal("0.10"),
            "To allow for optimism, effort counts 54% more than estimated and benefit 10% less.",
        ),
        (
            Decimal("0.54"),
            Decimal("0.00"),
            "To allow for optimism, effort counts 54% more than estimated; "
            "benefit counts as estimated.",
        ),
        (
            Decimal("0"),
            Decimal("0.25"),
            "To allow for optimism, benefit counts 25% less than estimated; "
            "effort counts as estimated.",
        ),
        (0, 0, "No allowance is made for optimism: effort and benefit count as estimated."),
    ],
)
def test_the_optimism_adjustments_are_one_sentence(uplift, haircut, sentence):
    assert optimism_sentence(uplift, haircut) == sentence


def test_units_read_as_said_and_names_join_with_and():
    assert unit_words("£ per year") == "£ a year"
    assert unit_words("cases per hour") == "cases an hour"
    assert unit_words("visits per tenant") == "visits per tenant"
    assert and_list(["Citizens"]) == "Citizens"
    assert and_list(["Citizens", "Leaders", "Colleagues"]) == "Citizens, Leaders and Colleagues"


def test_a_part_of_the_score_reads_as_a_percentage():
    assert share_of(0.205, 0.459) == "45%"
    assert share_of(-0.05, 0.5) == "−10%"
    assert share_of(1, 0) == ""


def test_a_table_cell_gives_the_number_and_the_money_sign_its_heading_the_rest():
    assert amount(Decimal("14960.00"), "£ per year") == "£14,960"
    assert amount(Decimal("386.00"), "hours per month") == "386"
    assert amount(Decimal("-12.5"), "£") == "−£12.50"


def test_the_benefit_table_gives_units_in_words_and_numbers_for_people():
    from django.template.loader import render_to_string

    from backlog.showandtell import BenefitTable

    table = BenefitTable(
        cohorts=["Citizens", "Colleagues"],
        rows=[
            {
                "metric": "Cash saved",
                "unit": "£ per year",
                "cells": [
                    {"value": Decimal("14960.00"), "width": "100"},
                    {"value": Decimal("0"), "width": "0"},
                ],
                "total": Decimal("14960.00"),
            },
            {
                "metric": "Staff hours saved",
                "unit": "hours per month",
                "cells": [
                    {"value": Decimal("1250.50"), "width": "100"},
                    {"value": Decimal("12"), "width": "1"},
                ],
                "total": Decimal("1262.50"),
            },
        ],
    )
    html = render_to_string("backlog/_benefit_table.html", {"table": table, "caption": "Week"})
    assert 'Cash saved <span class="muted">(£ a year)</span>' in html
    assert ">£14,960</td>" in html and "<strong>£14,960</strong>" in html
    assert ">1,250.5</td>" in html and "<strong>1,262.5</strong>" in html
