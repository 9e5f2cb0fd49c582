import io

import pytest
from django.core.management import call_command

from backlog.models import BacklogItem, Product, ProductRole
from customers.models import Membership
from prioritisation.models import BenefitEstimate, ItemScore

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    models = (BacklogItem, Product, ProductRole, BenefitEstimate, ItemScore)
    return tuple(model.objects.count() for model in models)


def test_seed_demo_builds_a_council_and_running_it_twice_duplicates_nothing():
    call_command("seed_demo", stdout=io.StringIO())
    counts = _counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == counts
    assert counts[0] == 150 and counts[1] == 3
    statuses = set(BacklogItem.objects.values_list("status", flat=True))
    assert statuses == {"idea", "ready", "in_progress", "done", "live", "rejected"}
    assert Membership.objects.filter(user__username="owner").exists()
    assert BacklogItem.objects.filter(cohorts__isnull=True).count() == 0
    assert counts[3] > 150 and counts[4] == 150  # estimates for most items, a score for each
