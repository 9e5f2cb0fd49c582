"""Forms for the capabilities catalogue and the technology principles."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from backlog.models import Capability, Principle, PrincipleAnswer, Product
from backlog.services.capabilities import NAME_TAKEN as CAPABILITY_NAME_TAKEN
from backlog.services.principles import NAME_TAKEN as PRINCIPLE_NAME_TAKEN
from backlog.services.principles import NOTE_MAX, Answer
from customers.models import Organisation


class CapabilityForm(forms.Form):
    """A capability's name, description, owner product and "same as" mark, limited to the
    organisation's products (not archived, unless it is already the owner) and its other
    capabilities."""

    name = forms.CharField(max_length=120)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )
    owner_product = forms.ModelChoiceField(
        queryset=Product.objects.none(),
        required=False,
        empty_label="No owner yet",
        label="Owner product",
        help_text="The product that builds and looks after it.",
    )
    same_as = forms.ModelChoiceField(
        queryset=Capability.objects.none(),
        required=False,
        empty_label="Not marked",
        label="The same as",
        help_text="Another capability of ours that is really this one under another name: "
        "if two products build them, the home page says it is being built twice.",
    )

    def __init__(
        self, *args, organisation: Organisation, instance: Capability | None = None, **kwargs
    ) -> None:
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "description": instance.description,
                    "owner_product": instance.owner_product_id,
                    "same_as": instance.same_as_id,
                },
            )
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.instance = instance
        current = instance.owner_product_id if instance is not None else None
        self.fields["owner_product"].queryset = Product.objects.filter(
            Q(archived_at__isnull=True) | Q(pk=current), organisation=organisation
        ).order_by("name")
        others = Capability.objects.filter(organisation=organisation).order_by("name")
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        self.fields["same_as"].queryset = others

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the capability a name.")
        clashing = Capability.objects.filter(organisation=self.organisation, name__iexact=name)
        if self.instance is not None:
            clashing = clashing.exclude(pk=self.instance.pk)
        if clashing.exists():
            raise forms.ValidationError(CAPABILITY_NAME_TAKEN.format(name=name))
        return name


class PrincipleForm(forms.Form):
    name = forms.CharField(max_length=80)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )

    def __init__(
        self, *args, organisation: Organisation, instance: Principle | None = None, **kwargs
    ) -> None:
        if instance is not None:
            kwargs.setdefault(
                "initial", {"name": instance.name, "description": instance.description}
            )
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.instance = instance

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the principle a name.")
        clashing = Principle.objects.filter(organisation=self.organisation, name__iexact=name)
        if self.instance is not None:
            clashing = clashing.exclude(pk=self.instance.pk)
        if clashing.exists():
            raise forms.ValidationError(PRINCIPLE_NAME_TAKEN.format(name=name))
        return name


ANSWER_CHOICES = [("", "Not answered"), *PrincipleAnswer.choices]


class PrincipleChecksForm(forms.Form):
    """An item's answers to every active principle, in one form: for principle ``p``, the
    fields ``answer-<p>`` and ``note-<p>``. ``rows`` are ``selectors_principles
    .item_principles``' rows, giving the principles and the current answers."""

    def __init__(self, *args, rows, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            pk = row.principle.pk
            self.fields[f"answer-{pk}"] = forms.ChoiceField(
                choices=ANSWER_CHOICES,
                required=False,
                initial=row.answer,
                label=row.principle.name,
                widget=forms.RadioSelect,
            )
            self.fields[f"note-{pk}"] = forms.CharField(
                required=False,
                initial=row.note,
                max_length=NOTE_MAX,
                label=f"Note on {row.principle.name}",
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def clean(self):
        cleaned = super().clean()
        for row in self.rows:
            pk = row.principle.pk
            note = (cleaned.get(f"note-{pk}") or "").strip()
            if note and not cleaned.get(f"answer-{pk}"):
                self.add_error(
                    f"answer-{pk}", "Choose meets, does not meet or not applicable for the note."
                )
        return cleaned

    def answers(self) -> dict[int, Answer]:
        data = self.cleaned_data
        return {
            row.principle.pk: Answer(
                answer=data.get(f"answer-{row.principle.pk}") or "",
                note=data.get(f"note-{row.principle.pk}") or "",
            )
            for row in self.rows
        }

    def fieldsets(self):
        """(row, answer field, note field) per principle, for the template."""
        return [
            (row, self[f"answer-{row.principle.pk}"], self[f"note-{row.principle.pk}"])
            for row in self.rows
        ]
