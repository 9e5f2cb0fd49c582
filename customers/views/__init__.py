"""Pages of the customers layer: cohorts (``cohorts``) and the person's own profile and API
tokens (``profile``), and people: members and invitations (``members``)."""

from customers.views.cohorts import cohort_edit, cohort_list
from customers.views.members import (
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    member_deactivate,
    member_edit,
    member_list,
    member_reactivate,
)
from customers.views.profile import api_token_create, api_token_revoke, profile

__all__ = [
    "api_token_create",
    "api_token_revoke",
    "cohort_edit",
    "cohort_list",
    "invitation_accept",
    "invitation_create",
    "invitation_resend",
    "invitation_revoke",
    "member_deactivate",
    "member_edit",
    "member_list",
    "member_reactivate",
    "profile",
]
