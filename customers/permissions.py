"""Membership checks every view starts from: 404 outside any organisation, 403 for a
member who is not an admin where admins only may act."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from customers.models import Membership
from customers.selectors import membership_for_user


def membership_or_404(user: AbstractBaseUser) -> Membership:
    membership = membership_for_user(user)
    if membership is None:
        raise Http404("You are not a member of any organisation.")
    return membership


def require_admin(membership: Membership, message: str) -> None:
    if not membership.is_admin:
        raise PermissionDenied(message)
