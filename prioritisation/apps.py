from django.apps import AppConfig


class PrioritisationConfig(AppConfig):
    name = "prioritisation"
    verbose_name = "Benefit and prioritisation"

    def ready(self) -> None:
        # The lower layers announce changes; scores and metrics follow from here, so
        # customers and the backlog core never import prioritisation.
        from backlog.signals import items_changed
        from customers.signals import cohort_changed, organisation_created
        from prioritisation import receivers

        organisation_created.connect(receivers.add_default_metrics, dispatch_uid="default_metrics")
        cohort_changed.connect(receivers.rescore_organisation, dispatch_uid="cohort_rescore")
        items_changed.connect(receivers.rescore_product, dispatch_uid="items_rescore")
