"""Schemathesis against the live OpenAPI schema, served by the app itself (WSGI), on a
seeded database: two organisations, a product with scored items, estimates, a ranked and
a dot-voting round, a show-and-tell with a done item and a decision.

Every operation gets schema-valid requests (positive) and schema-invalid ones (negative),
as a product owner who also votes and runs the show-and-tell, with a personal token. No
answer may be a server error, and every answer must be what the schema says: a documented
status code, content type and headers, and a body that validates. Path ids are mapped
half the time onto the seeded objects, so writes reach real rows and not only 404s.

Bounded: ``FUZZ_EXAMPLES`` examples per operation and mode keep the run within CI's time.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backlog.models import ItemStatus, ProductRoleKind
from backlog.services import sessions
from customers.services import api_token_create
from prioritisation import services as prioritisation_services
from prioritisation.models import BenefitEstimate
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

FUZZ_EXAMPLES = 20
CHECKS = [
    negative_data_rejection,
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_requests_keep_the_test_transaction():
    """The app is called through WSGI, not Django's test client, so do what that client
    does: keep the connection (and the test's transaction) open at the end of a request."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def seeded(
    wsgi_requests_keep_the_test_transaction,
    organisation,
    other_organisation,
    other_product,
    outsider,
    product,
    make_member,
):
    """The objects each path parameter is mapped onto, by the name of the path's resource."""
    person = make_member(
        product=product,
        roles=[
            ProductRoleKind.PRODUCT_OWNER,
            ProductRoleKind.BUSINESS_VOTER,
            ProductRoleKind.DELIVERY_LEAD,
        ],
        cohort=organisation.cohorts.get(name="Citizens"),
    )
    items = [BacklogItemFactory(product=product, title=f"Item {n}") for n in range(1, 7)]
    give_score_ranks(items)
    BacklogItemFactory(product=other_product, title="Elsewhere")
    cohort = organisation.cohorts.first()
    metric = organisation.metrics.first()
    BenefitEstimate.objects.create(item=items[0], cohort=cohort, metric=metric, value=Decimal(5))
    ranked = open_round(product, person, title="Ranked")
    dots = open_round(product, person, title="Dots", method="dots")
    prioritisation_services.ballot_submit(
        round=ranked, voter=person, ranking=[[items[0].pk], [items[1].pk]]
    )
    BacklogItemFactory(
        product=product, status=ItemStatus.DONE, done_at=timezone.now() - timedelta(days=1)
    )
    session, _ = sessions.session_for_week(product=product, day=sessions.local_today(product))
    sessions.decision_add(session=session, actor=person, kind="decision", text="Ship it")
    _token, raw = api_token_create(user=person, name="schemathesis")
    return {
        "token": raw,
        "ids": {
            "products": [product.pk, other_product.pk],
            "items": [items[0].pk, items[1].pk],
            "rounds": [ranked.pk, dots.pk],
            "sessions": [session.pk],
        },
    }


# Loaded from the app at collection, as a client would (the schema view reads no rows);
# pytest-django has configured Django by then. (schemathesis.pytest.from_fixture, the lazy
# loader, does not run under pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
schema.config.generation.update(modes=["positive", "negative"], max_examples=FUZZ_EXAMPLES)


def _map_path_to_seeded_rows(case, seeded) -> None:
    """Half the cases (by the generated id's parity) go to a seeded row of the path's
    resource; the rest keep the generated id: one that does not exist, or not a number."""
    generated = (case.path_parameters or {}).get("id")
    number = generated if isinstance(generated, int) else None
    if isinstance(generated, str) and generated.isascii() and generated.isdigit():
        number = int(generated)
    if number is None or number % 2:
        return
    resource = case.operation.path.strip("/").split("/")[2]  # /api/v1/<resource>/{id}/...
    choices = seeded["ids"].get(resource)
    if choices:
        case.path_parameters["id"] = choices[(number // 2) % len(choices)]


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db
def test_the_api_answers_every_generated_request_as_its_schema_says(case, seeded):
    _map_path_to_seeded_rows(case, seeded)
    response = case.call(headers={"Authorization": f"Bearer {seeded['token']}"})
    case.validate_response(response, checks=CHECKS)
