"""Numbers and settings in words for people: units from the metric, thousands separators,
two significant figures where a third says nothing, what a score measures, and what the
optimism-bias adjustments do. Pure: the templates' filters and the forms' labels use it."""

from __future__ import annotations

import math
import re
from decimal import Decimal

MINUS = "\u2212"  # a real minus sign: "−0.21", not a hyphen
CURRENCIES = ("£", "€", "$")
# "per month" reads "a month"; any other "per" (per tenant, per case) is left as it is.
PERIODS = {"year", "month", "week", "day", "quarter", "fortnight", "hour"}

SCORE_MEANINGS = {
    "benefit_per_effort": "benefit per point of effort",
    "moscow": "benefit per point of effort, within its MoSCoW group",
    "rice": "people reached × impact × confidence per person-month",
    "wsjf": "cost of delay per unit of job size",
    "ice": "impact × confidence × ease, out of 1,000",
}


def _with_minus(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def _plain(value: Decimal | float, places: int = 2) -> str:
    """14960.00 → "14,960", 7.50 → "7.5": at most ``places`` decimals, no trailing zeros."""
    text = f"{Decimal(str(value)):,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return _with_minus("0" if text in {"-0", ""} else text)


def significant(value: float | None, figures: int = 2) -> str:
    """``value`` to ``figures`` significant figures, with thousands separators and no
    trailing zeros: 0.459 → "0.46", 4837.2 → "4,800", −0.2051 → "−0.21", 2.0 → "2"."""
    if value is None:
        return ""
    value, figures = float(value), int(figures)
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, figures - 1 - magnitude)
    text = f"{round(value, figures - 1 - magnitude):,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")  # 2.0 reads 2
    return _with_minus(text)


def signed(value: float, figures: int = 2) -> str:
    """A gap with its sign: "+1.3", "−0.23", "0"."""
    text = significant(value, figures)
    return text if text.startswith(MINUS) or text == "0" else "+" + text


def figures_apart(first: float, second: float) -> int:
    """The fewest significant figures (at least 2) at which two different numbers look
    different, so "0.462 against 0.459" never reads "0.46 against 0.46"."""
    for figures in range(2, 8):
        if significant(first, figures) != significant(second, figures):
            return figures
    return 2


def percent(share: float | None) -> str:
    """0.6 → "60%"; a share that rounds to 0% or 100% without being it keeps a decimal."""
    if share is None:
        return ""
    whole = round(float(share) * 100)
    if whole in (0, 100) and float(share) not in (0.0, 1.0):
        return f"{float(share) * 100:.1f}%"
    return f"{whole}%"


def points(value: Decimal | float | None) -> str:
    """Effort in points: "5 points", "1 point", "4.6 points"."""
    if value is None:
        return "not estimated"
    text = _plain(value, 1)
    return f"{text} point" if text == "1" else f"{text} points"


def _singular(words: str) -> str:
    first, _, rest = words.partition(" ")
    if first.endswith("s") and not first.endswith("ss"):
        first = first[:-1]
    return f"{first} {rest}".strip()


def quantity(value: Decimal | float | None, unit: str) -> str:
    """An estimate in its metric's unit, as a person would say it: "£14,960 a year",
    "12 hours a month", "1 day". ``unit`` is the metric's free-text unit."""
    if value is None:
        return ""
    unit = unit_words(unit)
    text = amount(value, unit)
    currency = _currency(unit)
    if currency:
        return f"{text} {unit[len(currency) :].strip()}".strip()
    if not unit:
        return text
    return f"{text} {_singular(unit) if text in {'1', MINUS + '1'} else unit}"


def amount(value: Decimal | float | None, unit: str) -> str:
    """Just the number of a quantity, for a table whose heading gives the unit: "£14,960"
    for a money metric (pence only when there are any), "1,250" otherwise."""
    if value is None:
        return ""
    currency = _currency(unit_words(unit))
    if not currency:
        return _plain(value)
    number = Decimal(str(value))
    text = _plain(abs(number), 0 if number == number.to_integral_value() else 2)
    if "." in text and len(text.rsplit(".", 1)[1]) == 1:
        text += "0"  # £12.5 reads £12.50
    return f"{MINUS if number < 0 else ''}{currency}{text}"


def number(value: Decimal | float | None) -> str:
    """A plain number for people: "1" for 1.00, "2.5" for 2.50, "1,250" for 1250."""
    return "" if value is None else _plain(value)


def _currency(unit: str) -> str:
    return next((c for c in CURRENCIES if unit.startswith(c)), "")


def score_meaning(method: str) -> str:
    """What a product's score measures, in words: "benefit per point of effort"."""
    return SCORE_MEANINGS.get(method, "score")


def unit_words(unit: str) -> str:
    """A metric's unit as said aloud: "£ per year" → "£ a year", "hours per month" →
    "hours a month"; "visits per tenant" stays as it is."""
    return re.sub(
        r"\bper (\w+)$",
        lambda m: f"{'an' if m[1] == 'hour' else 'a'} {m[1]}" if m[1] in PERIODS else m[0],
        (unit or "").strip(),
    )


def and_list(names: list[str]) -> str:
    """["Citizens", "Leaders", "Colleagues"] → "Citizens, Leaders and Colleagues"."""
    names = [str(n) for n in names]
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def share_of(part: float, whole: float) -> str:
    """A part of a total as a percentage, "45%"; empty when the total is 0."""
    if not whole:
        return ""
    share = float(part) / float(whole)
    return MINUS + percent(-share) if share < 0 else percent(share)


def is_nothing(value: float) -> bool:
    """A share too small to be anything but rounding: an item scores nothing there."""
    return abs(float(value)) < 1e-12


def effort_adjustment(uplift: Decimal | float) -> str:
    """What the effort uplift does, in words: "Effort counts 54% more than estimated"."""
    if not uplift:
        return "Effort counts as estimated"
    return f"Effort counts {percent(float(uplift))} more than estimated"


def benefit_adjustment(haircut: Decimal | float) -> str:
    """What the benefit haircut does, in words: "Benefit counts 10% less than estimated"."""
    if not haircut:
        return "Benefit counts as estimated"
    return f"Benefit counts {percent(float(haircut))} less than estimated"


def optimism_sentence(uplift: Decimal | float, haircut: Decimal | float) -> str:
    """Both optimism-bias adjustments in one sentence, for the item page."""
    if not uplift and not haircut:
        return "No allowance is made for optimism: effort and benefit count as estimated."
    if not haircut:
        adjustment = effort_adjustment(uplift).lower()
        return f"To allow for optimism, {adjustment}; benefit counts as estimated."
    if not uplift:
        adjustment = benefit_adjustment(haircut).lower()
        return f"To allow for optimism, {adjustment}; effort counts as estimated."
    return (
        f"To allow for optimism, effort counts {percent(float(uplift))} more than estimated "
        f"and benefit {percent(float(haircut))} less."
    )
