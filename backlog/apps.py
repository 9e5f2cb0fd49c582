from django.apps import AppConfig


class BacklogConfig(AppConfig):
    name = "backlog"
    verbose_name = "Products and backlogs"

    def ready(self) -> None:
        from backlog import receivers
        from customers.signals import organisation_created

        organisation_created.connect(
            receivers.principles_create_defaults, dispatch_uid="default_principles"
        )
