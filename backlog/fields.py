from django.db import models


class OrderKeyField(models.CharField):
    """A text key that must sort bytewise (fractional index).

    PostgreSQL under an ICU or glibc locale would sort "a" and "B" case-insensitively and
    break the order, so the column uses the "C" collation there. SQLite's default BINARY
    collation is already bytewise, and it has no collation named "C".
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params
