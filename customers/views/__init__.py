"""Pages of the customers layer: cohorts (``cohorts``) and the person's own profile and API
tokens (``profile``)."""

from customers.views.cohorts import cohort_edit, cohort_list
from customers.views.profile import api_token_create, api_token_revoke, profile

__all__ = ["api_token_create", "api_token_revoke", "cohort_edit", "cohort_list", "profile"]
