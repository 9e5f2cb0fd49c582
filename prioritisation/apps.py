from django.apps import AppConfig


class PrioritisationConfig(AppConfig):
    name = "prioritisation"
    verbose_name = "Benefit and prioritisation"
