"""Filters for the scoring pages: bar widths, and numbers and settings in words
(``prioritisation.words``): "£14,960 a year", "5 points", "0.46", "54% more"."""

from __future__ import annotations

from django import template

from prioritisation import words

register = template.Library()

for name in (
    "amount",
    "and_list",
    "benefit_adjustment",
    "effort_adjustment",
    "figures_apart",
    "number",
    "percent",
    "points",
    "quantity",
    "score_meaning",
    "share_of",
    "signed",
    "significant",
    "unit_words",
):
    register.filter(name, getattr(words, name))


@register.filter
def bar_width(value: float, largest: float) -> str:
    """Width of a bar as a percentage of the largest bar, for CSS (0–100)."""
    try:
        if not largest:
            return "0"
        return f"{max(0.0, min(100.0, 100.0 * abs(float(value)) / abs(float(largest)))):.1f}"
    except (TypeError, ValueError):
        return "0"


@register.filter
def largest_share(shares, attribute: str = "mine") -> float:
    return max((abs(getattr(s, attribute)) for s in shares), default=0.0)


@register.filter
def scoring_rows(shares) -> list:
    """The shares where this item or the other scores something: a row of two zeros
    says nothing."""
    return [s for s in shares if not (words.is_nothing(s.mine) and words.is_nothing(s.theirs))]


@register.filter
def idle_names(shares) -> list[str]:
    """The names of the shares where neither item scores anything."""
    return [s.name for s in shares if words.is_nothing(s.mine) and words.is_nothing(s.theirs)]


@register.filter
def optimism_sentence(product) -> str:
    return words.optimism_sentence(product.effort_uplift, product.benefit_haircut)
