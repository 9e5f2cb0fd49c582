from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Organisations and cohorts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from customers import schema  # noqa: F401  (registers the token scheme with the schema)
        from customers.middleware import record_sign_in_time

        user_logged_in.connect(record_sign_in_time, dispatch_uid="customers_sign_in_time")
