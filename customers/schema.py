"""Describes the personal token scheme in the OpenAPI schema (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "customers.authentication.ApiTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "bb_<prefix>_<secret>",
            "description": (
                "A personal API token, created and revoked on your profile page "
                "(/accounts/profile/). Send it as `Authorization: Bearer <token>`. It acts "
                "with your permissions; an expired or revoked token answers 401."
            ),
        }
