"""Who may see and vote in a voting round. Pages and the API call these before any work."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from backlog.models import ProductRoleKind
from backlog.permissions import is_write_request, organisation_or_404, require_writable
from backlog.selectors import product_roles_for_user
from prioritisation import services
from prioritisation.models import VotingRound


def round_for_user(user: AbstractBaseUser, pk: int) -> VotingRound:
    """The round if it belongs to the user's organisation (else 404); in a write request,
    403 if its product is archived.

    The beat task closes rounds on time; without a scheduler (the embedded default) the
    first look after closing time closes it and freezes the result instead. Idempotent."""
    round = (
        VotingRound.objects.select_related("product", "product__organisation")
        .filter(pk=pk, product__organisation=organisation_or_404(user))
        .first()
    )
    if round is None:
        raise Http404("No such voting round.")
    if is_write_request():
        require_writable(round.product)  # an archived product's rounds are read-only
    if round.closed_at is None and timezone.now() >= round.closes_at:
        round = services.round_close(round_id=round.pk)
    return round


def require_voter(user: AbstractBaseUser, round: VotingRound) -> None:
    """403 unless the user is a business voter of the round's product."""
    roles = product_roles_for_user(product=round.product, user=user)
    if ProductRoleKind.BUSINESS_VOTER not in roles:
        raise PermissionDenied("Only the product's business voters can vote in this round.")
