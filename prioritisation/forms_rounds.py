"""Forms for voting rounds and ballots."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from config.http import parse_int
from prioritisation.models import VotingMethod
from prioritisation.services.rounds import MAX_SHORTLIST


class RoundForm(forms.Form):
    title = forms.CharField(max_length=200)
    method = forms.ChoiceField(choices=VotingMethod.choices, initial=VotingMethod.SCHULZE)
    shortlist_size = forms.IntegerField(
        min_value=2,
        max_value=MAX_SHORTLIST,
        initial=10,
        label="Shortlist: the top N items by score",
    )
    opens_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Opens at"
    )
    closes_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Closes at"
    )
    cohort_weighting = forms.BooleanField(
        required=False,
        initial=True,
        label="Weight by cohort (each cohort's voice weight, shared among its voters)",
    )
    ballots_visible = forms.BooleanField(
        required=False, label="Let the product owner see individual ballots"
    )
    dot_budget = forms.IntegerField(min_value=1, max_value=1000, initial=10, label="Dots per voter")
    dot_max_per_item = forms.IntegerField(
        min_value=1, max_value=1000, initial=3, label="Most dots on one item"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["opens_at"].initial = now.strftime("%Y-%m-%dT%H:%M")
        self.fields["closes_at"].initial = (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")


def _shown(raw: str) -> str:
    """What the person typed, cut short enough to quote in a message."""
    return raw if len(raw) <= 20 else raw[:20] + "…"


def parse_ranking(data, titles: dict[int, str]) -> list[list[int]]:
    """Tiers from the ballot form: ``rank-<item id>`` holds a position (1 = best); equal
    positions tie; a blank leaves the item unranked (tied below every ranked item).

    ``titles`` maps the shortlist's item ids to their titles, in shortlist order. Bad input
    raises a ValidationError keyed by field name, one message per field, naming the item."""
    by_position: dict[int, list[int]] = {}
    errors: dict[str, str] = {}
    for item_id, title in titles.items():
        field = f"rank-{item_id}"
        raw = (data.get(field) or "").strip()
        if not raw:
            continue
        position = parse_int(raw)
        if position is None:
            errors[field] = f"Position for “{title}”: “{_shown(raw)}” is not a whole number."
        elif position < 1:
            errors[field] = f"Position for “{title}”: positions start at 1."
        else:
            by_position.setdefault(position, []).append(item_id)
    if errors:
        raise forms.ValidationError(errors)
    return [by_position[p] for p in sorted(by_position)]


def parse_points(data, titles: dict[int, str], *, most: int | None = None) -> dict[int, int]:
    """Dots from the ballot form: ``dots-<item id>`` holds a whole number of dots (blank is
    none), at most ``most`` on one item. Errors as ``parse_ranking``'s."""
    points: dict[int, int] = {}
    errors: dict[str, str] = {}
    for item_id, title in titles.items():
        field = f"dots-{item_id}"
        raw = (data.get(field) or "").strip()
        if not raw:
            continue
        value = parse_int(raw)
        if value is None:
            errors[field] = f"Dots for “{title}”: “{_shown(raw)}” is not a whole number."
        elif value < 0:
            errors[field] = f"Dots for “{title}”: dots cannot be negative."
        elif most is not None and value > most:
            errors[field] = f"Dots for “{title}”: at most {most} on one item."
        elif value:
            points[item_id] = value
    if errors:
        raise forms.ValidationError(errors)
    return points
