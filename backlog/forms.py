from __future__ import annotations

from django import forms

from backlog.models import (
    EFFORT_MAX,
    EFFORT_MIN,
    EFFORT_RULE,
    EFFORT_STEP,
    BacklogItem,
    Capability,
    DigitisationLevel,
    ItemStatus,
    Product,
    validate_effort,
)
from backlog.selectors_capabilities import capability_choices
from backlog.selectors_principles import PRINCIPLE_FILTERS
from customers.models import Cohort, Organisation
from customers.selectors import cohorts_offered


class EffortField(forms.DecimalField):
    """Effort in points, by the one rule (``validate_effort``): every refusal, a word or a
    number, says that rule; the input's min/step/max say it to the browser."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Effort (points)")
        super().__init__(error_messages={"invalid": EFFORT_RULE}, **kwargs)
        self.widget.attrs.update(
            {"min": str(EFFORT_MIN), "max": str(EFFORT_MAX), "step": str(EFFORT_STEP)}
        )

    def clean(self, value):
        return validate_effort(super().clean(value))


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
    effort = EffortField(help_text=BacklogItem._meta.get_field("effort").help_text)

    class Meta:
        model = BacklogItem
        fields = ["title", "description", "status", "digitisation_level", "effort", "cohorts"]
        widgets = {
            "cohorts": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 5}),
        }

    def __init__(self, *args, organisation: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # An archived cohort takes no new items; one the item already names stays shown.
        chosen = self.instance.cohorts.values_list("pk", flat=True) if self.instance.pk else ()
        self.fields["cohorts"].queryset = cohorts_offered(organisation=organisation, keep=chosen)
        capabilities = Capability.objects.filter(organisation=organisation)
        self.fields["builds"].queryset = capabilities
        self.fields["reuses"].queryset = capabilities
        # Going live takes the four sign-offs of the show-and-tell, not a form field.
        choices = [c for c in ItemStatus.choices if c[0] != ItemStatus.LIVE]
        if self.instance.pk and self.instance.status == ItemStatus.LIVE:
            choices = ItemStatus.choices
        self.fields["status"].choices = choices
        if self.instance.pk:
            links = self.instance.itemcapability_set.all()
            self.initial["builds"] = [lnk.capability_id for lnk in links if lnk.use == "builds"]
            self.initial["reuses"] = [lnk.capability_id for lnk in links if lnk.use == "reuses"]

    def clean(self):
        cleaned = super().clean()
        both = set(cleaned.get("builds") or []) & set(cleaned.get("reuses") or [])
        if both:
            names = ", ".join(sorted(str(c) for c in both))
            self.add_error("reuses", f"An item either builds or reuses a capability: {names}.")
        return cleaned


class QuickAddForm(forms.Form):
    title = forms.CharField(max_length=200, label="New item title")
    effort = EffortField()


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
    capability = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Capability"
    )
    principles = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), *PRINCIPLE_FILTERS.items()],
        label="Technology principles",
    )

    order = forms.ChoiceField(required=False, label="Order")

    def __init__(self, *args, organisation: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # One query for both lists: the filter and the per-cohort orders.
        cohorts = list(Cohort.objects.filter(organisation=organisation).only("pk", "name"))
        self.fields["cohort"].choices = [("", "Any cohort"), *((c.pk, c.name) for c in cohorts)]
        self.fields["capability"].choices = [
            ("", "Any capability"),
            *capability_choices(organisation=organisation),
        ]
        self.fields["order"].choices = [
            ("manual", "Manual order"),
            ("score", "Score order"),
            *((f"cohort-{c.pk}", f"As if only {c.name} counted") for c in cohorts),
        ]


def _person_name(user) -> str:
    return user.get_full_name() or user.username


class ProductForm(forms.ModelForm):
    """A product's settings. Creating one also names its first product owner (the person
    creating it, unless they pick someone else of the organisation's active members)."""

    class Meta:
        model = Product
        fields = [
            "name",
            "description",
            "kind",
            "weekly_capacity",
            "show_and_tell_weekday",
            "new_items_position",
        ]
        labels = {
            "show_and_tell_weekday": "Show-and-tell day",
            "new_items_position": "Where new items go",
        }
        error_messages = {"name": {"required": "Give the product a name."}}
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    weekly_capacity = forms.IntegerField(
        min_value=0,
        max_value=100_000,
        label="Weekly capacity (points)",
        help_text=Product._meta.get_field("weekly_capacity").help_text,
    )

    def __init__(self, *args, owners=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if owners is not None:
            self.fields["owner"] = forms.ModelChoiceField(
                queryset=owners,
                label="Product owner",
                help_text="They can then give the product's other roles.",
            )
            self.fields["owner"].label_from_instance = _person_name
