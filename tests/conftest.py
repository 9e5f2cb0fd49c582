"""Shared fixtures: two organisations, people in each product role, and a logged-in client."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backlog.models import ProductRoleKind
from customers.models import OrganisationRole
from customers.services import organisation_create
from tests.factories import MembershipFactory, ProductFactory, ProductRoleFactory, UserFactory


@pytest.fixture
def organisation(db):
    return organisation_create(name="Riverside Test Council", slug="riverside-test")


@pytest.fixture
def other_organisation(db):
    return organisation_create(name="Elsewhere Borough", slug="elsewhere")


@pytest.fixture
def product(organisation):
    return ProductFactory(organisation=organisation, name="Repairs")


@pytest.fixture
def other_product(other_organisation):
    return ProductFactory(organisation=other_organisation, name="Elsewhere repairs")


@pytest.fixture
def make_member(organisation):
    """A user in an organisation, with product roles: make_member(product=p, roles=[...])."""

    def make(*, org=None, product=None, roles=(), admin=False, cohort=None):
        org = org or organisation
        user = UserFactory()
        MembershipFactory(
            user=user,
            organisation=org,
            role=OrganisationRole.ADMIN if admin else OrganisationRole.MEMBER,
            cohort=cohort,
        )
        for role in roles:
            ProductRoleFactory(product=product, user=user, role=role)
        return user

    return make


@pytest.fixture
def owner(make_member, product):
    return make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])


@pytest.fixture
def viewer(make_member, product):
    return make_member(product=product, roles=[ProductRoleKind.VIEWER])


@pytest.fixture
def outsider(make_member, other_organisation, other_product):
    """A product owner in another organisation."""
    return make_member(
        org=other_organisation, product=other_product, roles=[ProductRoleKind.PRODUCT_OWNER]
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return client_for(owner)


@pytest.fixture
def viewer_client(viewer):
    return client_for(viewer)


@pytest.fixture
def outsider_client(outsider):
    return client_for(outsider)


HTMX = {"HTTP_HX_REQUEST": "true"}


def require_postgresql() -> None:
    """Concurrency tests need PostgreSQL's row locks: skipped on SQLite on a laptop, but a
    failure in CI, which must run them."""
    if connection.vendor != "postgresql":
        message = "the concurrency test needs PostgreSQL's row locks"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run on PostgreSQL (DATABASE_URL)")
        pytest.skip(message)


@pytest.fixture
def cohorts(organisation):
    """The organisation's cohorts by name (Colleagues, Citizens, Leaders)."""
    return {c.name: c for c in organisation.cohorts.all()}


@pytest.fixture
def metrics(organisation):
    """The organisation's benefit metrics by name."""
    return {m.name: m for m in organisation.metrics.all()}


def count_get_queries(client, url: str, params: dict | None = None) -> int:
    """The queries one successful GET makes."""
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx.captured_queries)
