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


def parse_ranking(data, candidates: list[int]) -> list[list[int]]:
    """Tiers from the ballot form: ``rank-<item id>`` holds a position (1 = best); equal
    positions tie; a blank leaves the item unranked (tied below every ranked item)."""
    by_position: dict[int, list[int]] = {}
    errors = []
    for item_id in candidates:
        raw = (data.get(f"rank-{item_id}") or "").strip()
        if not raw:
            continue
        position = parse_int(raw)
        if position is None:
            errors.append(f"“{_shown(raw)}” is not a whole number.")
            continue
        if position < 1:
            errors.append("Positions start at 1.")
            continue
        by_position.setdefault(position, []).append(item_id)
    if errors:
        raise forms.ValidationError(errors)
    return [by_position[p] for p in sorted(by_position)]


def parse_points(data, candidates: list[int]) -> dict[int, int]:
    points, errors = {}, []
    for item_id in candidates:
        raw = (data.get(f"dots-{item_id}") or "").strip()
        if not raw:
            continue
        value = parse_int(raw)
        if value is None:
            errors.append(f"“{_shown(raw)}” is not a whole number of dots.")
            continue
        if value < 0:
            errors.append("Dots cannot be negative.")
            continue
        if value:
            points[item_id] = value
    if errors:
        raise forms.ValidationError(errors)
    return points
