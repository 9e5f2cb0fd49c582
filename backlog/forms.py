from __future__ import annotations

from django import forms

from backlog.models import BacklogItem, Capability, DigitisationLevel, ItemStatus
from customers.models import Cohort, Organisation


class ItemForm(forms.ModelForm):
    """Create or edit an item. Cohorts and capabilities are limited to the organisation's."""

    builds = forms.ModelMultipleChoiceField(
        queryset=Capability.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Capabilities it builds",
    )
    reuses = forms.ModelMultipleChoiceField(
        queryset=Capability.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Capabilities it reuses",
    )

    class Meta:
        model = BacklogItem
        fields = ["title", "description", "status", "digitisation_level", "effort", "cohorts"]
        widgets = {
            "cohorts": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 5}),
        }
        labels = {"effort": "Effort (points)"}

    def __init__(self, *args, organisation: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohorts"].queryset = Cohort.objects.filter(organisation=organisation)
        capabilities = Capability.objects.filter(organisation=organisation)
        self.fields["builds"].queryset = capabilities
        self.fields["reuses"].queryset = capabilities
        # Going live takes the four sign-offs of the show-and-tell, not a form field.
        choices = [c for c in ItemStatus.choices if c[0] != ItemStatus.LIVE]
        if self.instance.pk and self.instance.status == ItemStatus.LIVE:
            choices = ItemStatus.choices
        self.fields["status"].choices = choices
        self.fields["effort"].widget.attrs.update({"min": "0.1", "step": "any"})
        if self.instance.pk:
            links = self.instance.itemcapability_set.all()
            self.initial["builds"] = [lnk.capability_id for lnk in links if lnk.use == "builds"]
            self.initial["reuses"] = [lnk.capability_id for lnk in links if lnk.use == "reuses"]

    def clean_effort(self):
        effort = self.cleaned_data.get("effort")
        if effort is not None and effort <= 0:
            raise forms.ValidationError("Effort must be more than 0 points, or left empty.")
        return effort

    def clean(self):
        cleaned = super().clean()
        both = set(cleaned.get("builds") or []) & set(cleaned.get("reuses") or [])
        if both:
            names = ", ".join(sorted(str(c) for c in both))
            self.add_error("reuses", f"An item either builds or reuses a capability: {names}.")
        return cleaned


class QuickAddForm(forms.Form):
    title = forms.CharField(max_length=200, label="New item title")
    effort = forms.DecimalField(
        max_digits=7, decimal_places=1, required=False, min_value=0.1, label="Effort (points)"
    )


class ItemFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *ItemStatus.choices], label="Status"
    )
    cohort = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="Cohort")
    level = forms.ChoiceField(
        required=False,
        choices=[("", "Any level"), *DigitisationLevel.choices],
        label="Digitisation level",
    )

    order = forms.ChoiceField(required=False, label="Order")

    def __init__(self, *args, organisation: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # One query for both lists: the filter and the per-cohort orders.
        cohorts = list(Cohort.objects.filter(organisation=organisation).only("pk", "name"))
        self.fields["cohort"].choices = [("", "Any cohort"), *((c.pk, c.name) for c in cohorts)]
        self.fields["order"].choices = [
            ("manual", "Manual order"),
            ("score", "Score order"),
            *((f"cohort-{c.pk}", f"As if only {c.name} counted") for c in cohorts),
        ]
