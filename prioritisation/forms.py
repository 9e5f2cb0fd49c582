from __future__ import annotations

from decimal import Decimal

from django import forms

from backlog.models import Product
from customers.models import Cohort
from customers.selectors import name_clash
from prioritisation.models import (
    SCORING_INPUT_FIELDS,
    BenefitMetric,
    Confidence,
    ItemScoringInputs,
)
from prioritisation.scoring import ICE_MAX, ICE_MIN, RICE_IMPACT_SCALE, WSJF_SCALE
from prioritisation.services import EstimateCell
from prioritisation.words import unit_words


def _plain(value: Decimal) -> str:
    """12.50 → "12.5", 47329.00 → "47329": what a person typed, not the column's scale."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class EstimateGridForm(forms.Form):
    """The cohort × metric grid of one item: a value, a confidence and evidence per cell.

    An empty value clears the cell. Field names are ``value-<cohort>-<metric>`` and so on.
    A cell of an archived cohort or metric that holds no estimate is closed: its fields are
    disabled (what is posted for them is ignored), as an archived one takes no new estimates.
    """

    def __init__(
        self,
        *args,
        cohorts: list[Cohort],
        metrics: list[BenefitMetric],
        current: dict,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cohorts, self.metrics, self.current = cohorts, metrics, current
        for cohort in cohorts:
            for metric in metrics:
                suffix = f"{cohort.pk}-{metric.pk}"
                old = current.get((cohort.pk, metric.pk))
                closed = old is None and (
                    cohort.archived_at is not None or metric.archived_at is not None
                )
                self.fields[f"value-{suffix}"] = forms.DecimalField(
                    required=False,
                    max_digits=14,
                    decimal_places=2,
                    label=f"{metric.name} for {cohort.name} ({unit_words(metric.unit)})",
                    initial=_plain(old.value) if old else None,
                    error_messages={
                        "invalid": "Enter a number, like 12 or 3.5.",
                        "max_digits": "That number is too large.",
                        "max_whole_digits": "That number is too large.",
                        "max_decimal_places": "At most 2 decimal places.",
                    },
                    disabled=closed,
                )
                self.fields[f"confidence-{suffix}"] = forms.ChoiceField(
                    choices=Confidence.choices,
                    label=f"Confidence in {metric.name} for {cohort.name}",
                    initial=old.confidence if old else Confidence.MEDIUM,
                    disabled=closed,
                )
                self.fields[f"evidence-{suffix}"] = forms.CharField(
                    required=False,
                    max_length=2000,
                    widget=forms.Textarea(attrs={"rows": 2}),
                    label=f"Evidence for {metric.name} for {cohort.name}",
                    initial=old.evidence if old else "",
                    disabled=closed,
                )

    def rows(self) -> list[dict]:
        """Bound fields laid out for the template: one row per cohort, one cell per metric."""
        return [
            {
                "cohort": cohort,
                "cells": [
                    {
                        "metric": metric,
                        "value": self[f"value-{cohort.pk}-{metric.pk}"],
                        "confidence": self[f"confidence-{cohort.pk}-{metric.pk}"],
                        "evidence": self[f"evidence-{cohort.pk}-{metric.pk}"],
                        "closed": self.fields[f"value-{cohort.pk}-{metric.pk}"].disabled,
                    }
                    for metric in self.metrics
                ],
            }
            for cohort in self.cohorts
        ]

    def estimates(self) -> list[dict]:
        """The cells that hold an estimate, cohort by cohort, for people who may only read
        them: the stored values, not what a form would redisplay."""
        return [
            {
                "cohort": cohort,
                "metric": metric,
                "value": old.value,
                "confidence": Confidence(old.confidence).label.split(" (")[0],
                "evidence": old.evidence,
            }
            for cohort in self.cohorts
            for metric in self.metrics
            if (old := self.current.get((cohort.pk, metric.pk))) is not None
        ]

    def cells(self) -> list[EstimateCell]:
        data = self.cleaned_data
        return [
            EstimateCell(
                cohort=cohort,
                metric=metric,
                value=data[f"value-{cohort.pk}-{metric.pk}"],
                confidence=data[f"confidence-{cohort.pk}-{metric.pk}"],
                evidence=data[f"evidence-{cohort.pk}-{metric.pk}"].strip(),
            )
            for cohort in self.cohorts
            for metric in self.metrics
        ]


def _scale_choices(scale) -> list[tuple[str, str]]:
    return [("", "Not set"), *((str(v), str(v)) for v in scale)]


class ScoringInputsForm(forms.ModelForm):
    """RICE, WSJF, ICE and MoSCoW inputs; the page shows the product's method's fields."""

    FIELDS_BY_METHOD = {
        "rice": ["rice_reach", "rice_impact", "rice_confidence", "rice_effort_months"],
        "wsjf": [
            "wsjf_business_value",
            "wsjf_time_criticality",
            "wsjf_risk_reduction",
            "wsjf_job_size",
        ],
        "ice": ["ice_impact", "ice_confidence", "ice_ease"],
        "moscow": ["moscow"],
    }

    class Meta:
        model = ItemScoringInputs
        fields = list(SCORING_INPUT_FIELDS)
        labels = {
            "rice_reach": "Reach (people)",
            "rice_impact": "Impact",
            "rice_confidence": "Confidence",
            "rice_effort_months": "Effort (person-months)",
            "wsjf_business_value": "User-business value",
            "wsjf_time_criticality": "Time criticality",
            "wsjf_risk_reduction": "Risk reduction / opportunity enablement",
            "wsjf_job_size": "Job size",
            "ice_impact": "Impact (1–10)",
            "ice_confidence": "Confidence (1–10)",
            "ice_ease": "Ease (1–10)",
            "moscow": "MoSCoW",
        }

    def __init__(self, *args, method: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.method = method
        impact_choices = [("", "Not set")] + [
            (str(Decimal(str(v)).quantize(Decimal("0.01"))), label)
            for v, label in zip(
                RICE_IMPACT_SCALE,
                ["3 massive", "2 high", "1 medium", "0.5 low", "0.25 minimal"],
                strict=True,
            )
        ]
        self.fields["rice_impact"] = forms.TypedChoiceField(
            choices=impact_choices,
            coerce=Decimal,
            empty_value=None,
            required=False,
            label="Impact",
        )
        for name in self.FIELDS_BY_METHOD["wsjf"]:
            self.fields[name] = forms.TypedChoiceField(
                choices=_scale_choices(WSJF_SCALE),
                coerce=int,
                empty_value=None,
                required=False,
                label=self.Meta.labels[name],
            )
        for name in self.FIELDS_BY_METHOD["ice"]:
            self.fields[name].widget.attrs.update({"min": ICE_MIN, "max": ICE_MAX})
        self.fields["rice_effort_months"].widget.attrs.update({"min": "0.01", "step": "any"})
        for name in list(self.fields):
            if name not in self.FIELDS_BY_METHOD.get(method, []):
                del self.fields[name]

    def readable(self) -> list[tuple[str, str]]:
        """Each input's label and saved value in words, for people who may only read them."""
        shown = []
        for field in self:
            value = field.value()
            choices = {str(k): v for k, v in getattr(field.field, "choices", [])}
            text = "Not set" if value in (None, "") else choices.get(str(value), str(value))
            shown.append((field.label, text))
        return shown

    def clean_rice_effort_months(self):
        effort = self.cleaned_data.get("rice_effort_months")
        if effort is not None and effort <= 0:
            raise forms.ValidationError("Effort must be more than 0 person-months.")
        return effort

    def clean(self):
        cleaned = super().clean()
        for name in self.FIELDS_BY_METHOD["ice"]:
            value = cleaned.get(name)
            if value is not None and not ICE_MIN <= value <= ICE_MAX:
                self.add_error(name, "Use a whole number from 1 to 10.")
        return cleaned


class ScoringSettingsForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["scoring_method", "effort_uplift", "benefit_haircut", "optimism_reason"]
        labels = {
            "scoring_method": "Scoring method",
            "effort_uplift": "Extra effort to allow for optimism (0.54 = 54% more)",
            "benefit_haircut": "Benefit to take off for optimism (0.10 = 10% less)",
            "optimism_reason": "Why these adjustments",
        }
        help_texts = {
            "effort_uplift": "Estimates of effort tend to be too low: every item's effort "
            "is raised by this share before it is scored.",
            "benefit_haircut": "Estimates of benefit tend to be too high: every item's "
            "estimated benefit is cut by this share before it is scored.",
        }
        widgets = {"optimism_reason": forms.Textarea(attrs={"rows": 3})}

    def clean_effort_uplift(self):
        uplift = self.cleaned_data["effort_uplift"]
        if uplift < 0 or uplift > 5:
            raise forms.ValidationError("Enter a share from 0 to 5 (0.54 adds 54%).")
        return uplift

    def clean_benefit_haircut(self):
        haircut = self.cleaned_data["benefit_haircut"]
        if haircut < 0 or haircut >= 1:
            raise forms.ValidationError("Enter a share from 0 to 0.99 (0.10 takes off 10%).")
        return haircut

    def clean(self):
        cleaned = super().clean()
        changed = {"effort_uplift", "benefit_haircut"} & set(self.changed_data)
        if changed and not (cleaned.get("optimism_reason") or "").strip():
            self.add_error("optimism_reason", "Say why the adjustment changed.")
        return cleaned


class MetricForm(forms.ModelForm):
    class Meta:
        model = BenefitMetric
        fields = ["name", "unit", "description", "weight", "higher_is_better"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "unit": "What one of the metric counts, and over what period: “hours per month”, "
            "“£ per year”, “days”. Pages then say “12 hours a month” or “£14,960 a year”; "
            "start with £ for money.",
            "weight": "How much this metric matters in the score: 1 is normal, 2 counts twice "
            "as much, 0 leaves it out.",
        }

    def clean_weight(self):
        weight = self.cleaned_data["weight"]
        if weight is not None and weight < 0:
            raise forms.ValidationError("Weight cannot be negative.")
        return weight

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        candidate = BenefitMetric(
            pk=self.instance.pk, organisation=self.instance.organisation, name=name
        )
        clash = name_clash(candidate, "metric")
        if clash:
            raise forms.ValidationError(clash)
        return name
