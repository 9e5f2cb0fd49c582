"""The audit log's filters: dates, person, kind of row and change, product, page."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib.auth import get_user_model

from backlog.audit import CHANGES, MAX_PAGE, SOURCES, AuditFilters
from backlog.models import Product
from customers.models import Organisation

# Dates a person means: also keeps "the day after the end" and time-zone shifts in range.
EARLIEST = date(1970, 1, 1)
LATEST = date(9998, 12, 31)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.get_username()


class AuditFilterForm(forms.Form):
    start = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The first day to show.",
    )
    end = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The last day to show.",
    )
    person = PersonChoiceField(queryset=None, required=False, empty_label="Anyone")
    kind = forms.ChoiceField(
        required=False,
        label="Kind of record",
        choices=[("", "Any"), *((key, source.label) for key, source in SOURCES.items())],
    )
    change = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), *CHANGES.items()],
    )
    product = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any product")
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = (
            get_user_model()
            .objects.filter(membership__organisation=organisation)
            .order_by("first_name", "last_name", "username")
        )
        self.fields["product"].queryset = Product.objects.filter(
            organisation=organisation
        ).order_by("name")

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            day = data.get(name)
            if day is not None and not EARLIEST <= day <= LATEST:
                self.add_error(name, f"Give a date between {EARLIEST:%Y} and {LATEST:%Y}.")
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The last day must not be before the first.")
        return data

    def filters(self) -> AuditFilters:
        """The filters asked for; none when the form is not valid (errors are shown)."""
        if not self.is_valid():
            return AuditFilters()
        data = self.cleaned_data
        return AuditFilters(
            start=data["start"],
            end=data["end"],
            person=data["person"].pk if data["person"] else None,
            kind=data["kind"],
            change=data["change"],
            product=data["product"],
        )

    def page_number(self) -> int:
        return (self.cleaned_data.get("page") if self.is_valid() else None) or 1
