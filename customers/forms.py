from django import forms

from customers.models import Cohort


class CohortForm(forms.ModelForm):
    class Meta:
        model = Cohort
        fields = ["name", "kind", "description", "size", "voice_weight"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"size": "Size (number of people)"}

    def clean_voice_weight(self):
        weight = self.cleaned_data["voice_weight"]
        if weight is not None and weight < 0:
            raise forms.ValidationError("Voice weight cannot be negative.")
        return weight

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = Cohort.objects.filter(organisation=self.instance.organisation, name__iexact=name)
        if clash.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another cohort already has this name.")
        return name
