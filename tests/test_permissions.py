"""Every URL and every API operation, requested as every role, against one table.

The URLs come from Django's resolver (admin and API included) and the operations from the
OpenAPI schema, so a new view cannot escape: one missing from ``tests/permission_table.py``
fails here by name. Two organisations of seeded data; the second's people request the
first's ids (always 404) and never see its data in any body. Writes run in a savepoint that
is rolled back, so every request sees the same world, and the world itself is rolled back
when the module is done. Every role requests every URL, except where one check decides for
everyone (the Django admin's staff gate, the public schema): there a few roles stand in, see
``_roles_for``. Run with ``-s`` to see how many requests were made.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from backlog import services as backlog_services
from backlog.models import GO_LIVE_ROLES, ItemStatus, ProductRoleKind
from backlog.services import sessions as session_services
from customers import invitations
from customers import services as customer_services
from customers.models import OrganisationRole
from customers.services import organisation_create
from prioritisation import services as prioritisation_services
from prioritisation.services import EstimateCell
from tests import permission_table as table
from tests.factories import MembershipFactory, ProductRoleFactory, UserFactory, open_round

# Every test asks for a database (pytest-django sets the test database up only for marked
# tests), though the enumeration makes and rolls back its own world once for the module.
pytestmark = pytest.mark.django_db

MARK_A = "Qzx7Alpha"  # in the first organisation's names, titles and decisions only
MARK_B = "Wvb3Beta"
API_PREFIX = "/api/"

# ---------------------------------------------------------------- the URLs


@dataclass(frozen=True)
class Endpoint:
    name: str  # namespace:name, or namespace:<unnamed route> for a pattern with no name
    route: str
    kwargs: tuple[str, ...]


def _groups(pattern) -> list[str]:
    converters = getattr(pattern, "converters", None)
    if converters:
        return list(converters)
    return list(pattern.regex.groupindex)


def _walk(patterns, *, prefix: str = "", namespace: str = "", kwargs=()) -> list[Endpoint]:
    found = []
    for entry in patterns:
        names = (*kwargs, *_groups(entry.pattern))
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(n for n in (namespace, entry.namespace or "") if n)
            found += _walk(entry.url_patterns, prefix=route, namespace=inner, kwargs=names)
            continue
        name = entry.name or f"<unnamed {route}>"
        found.append(Endpoint(f"{namespace}:{name}" if namespace else name, route, names))
    return found


def resolver_endpoints() -> list[Endpoint]:
    return _walk(get_resolver().url_patterns)


def schema_operations() -> list[tuple[str, str]]:
    """(URL name, METHOD) of every operation the OpenAPI schema describes."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        name = resolve(concrete).view_name
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append((name, method.upper()))
    return operations


# ---------------------------------------------------------------- the world


@dataclass
class Organisation:
    """One organisation's seeded objects, by the table's target names."""

    organisation: object
    product: object
    items: dict
    open_round: object
    closed_round: object
    session: object
    cohort: object
    metric: object
    cohorts: list
    metrics: list
    capability: object = None


@dataclass
class World:
    a: Organisation
    b: Organisation
    users: dict[str, object]  # role -> user (the roles of permission_table.ROLES)
    token: object = None  # the product owner's personal API token
    invitation: object = None  # a pending invitation to the first organisation
    invitation_key: str = ""  # the link's secret of a pending invitation to a third one
    sessions: dict[str, str] = field(default_factory=dict)  # role -> session cookie


def _member(organisation, *, admin: bool = False, cohort=None):
    user = UserFactory()
    MembershipFactory(
        user=user,
        organisation=organisation,
        role=OrganisationRole.ADMIN if admin else OrganisationRole.MEMBER,
        cohort=cohort,
    )
    return user


def _organisation(mark: str, slug: str, make_people) -> Organisation:
    """An organisation with a product, items (idea, ready, done) with estimates and scores,
    a closed and an open voting round with a ballot each, and this week's show-and-tell with
    a decision. ``make_people(organisation)`` makes its members and returns the user for each
    product role, who is given that role on the product."""
    organisation = organisation_create(name=f"{mark} Council", slug=slug)
    cohorts = list(organisation.cohorts.order_by("pk"))
    metrics = list(organisation.metrics.order_by("pk"))
    people = make_people(organisation, cohorts[0])
    product = backlog_services.product_create(organisation=organisation, name=f"{mark} Repairs")
    for role, user in people.items():
        ProductRoleFactory(product=product, user=user, role=role)
    owner = people[ProductRoleKind.PRODUCT_OWNER]
    items = {}
    for key, status in (
        ("idea", ItemStatus.IDEA),
        ("item", ItemStatus.READY),
        ("ready_2", ItemStatus.READY),
        ("done_item", ItemStatus.DONE),
    ):
        items[key] = backlog_services.item_create(
            product=product,
            actor=owner,
            title=f"{mark} {key} item",
            description=f"What {mark} needs.",
            status=status,
            effort=3,
            cohorts=cohorts[:1],
        )
        prioritisation_services.estimates_save(
            item=items[key],
            actor=owner,
            cells=[
                EstimateCell(cohort=cohorts[0], metric=metrics[0], value=Decimal(10 + len(items)))
            ],
        )
    voter = people[ProductRoleKind.BUSINESS_VOTER]
    closed = open_round(product, owner, title=f"{mark} last month's vote", shortlist_size=3)
    candidates = list(closed.candidates.order_by("position").values_list("item_id", flat=True))
    prioritisation_services.ballot_submit(round=closed, voter=voter, ranking=[candidates[::-1]])
    type(closed).objects.filter(pk=closed.pk).update(
        opens_at=timezone.now() - timedelta(days=9), closes_at=timezone.now() - timedelta(days=2)
    )
    closed = prioritisation_services.round_close(round_id=closed.pk)
    current = open_round(product, owner, title=f"{mark} this month's vote", shortlist_size=3)
    candidates = list(current.candidates.order_by("position").values_list("item_id", flat=True))
    prioritisation_services.ballot_submit(round=current, voter=voter, ranking=[candidates])
    session, _ = session_services.session_for_week(
        product=product,
        day=session_services.local_today(product),
        actor=people[ProductRoleKind.DELIVERY_LEAD],
    )
    session_services.decision_add(
        session=session, actor=owner, kind="decision", text=f"{mark} decided to go ahead"
    )
    capability = backlog_services.capability_create(
        organisation=organisation, name=f"{mark} Payments", owner_product=product
    )
    capability.items.add(items["item"], through_defaults={"use": "builds"})
    return Organisation(
        organisation=organisation,
        product=product,
        items=items,
        open_round=current,
        closed_round=closed,
        session=session,
        cohort=cohorts[0],
        metric=metrics[0],
        cohorts=cohorts,
        metrics=metrics,
        capability=capability,
    )


def build_world() -> World:
    users: dict[str, object] = {}

    def first(organisation, cohort) -> dict:
        for role in table.PRODUCT_ROLES:
            users[role] = _member(organisation, cohort=cohort)
        users["org_admin"] = _member(organisation, admin=True)
        users["member"] = _member(organisation, cohort=cohort)
        return {role: users[role] for role in table.PRODUCT_ROLES}

    def second(organisation, cohort) -> dict:
        users["other_org_admin"] = _member(organisation, admin=True)
        users["other_org_member"] = _member(organisation, cohort=cohort)
        return dict.fromkeys(table.PRODUCT_ROLES, users["other_org_member"])

    a = _organisation(MARK_A, "perm-alpha", first)
    b = _organisation(MARK_B, "perm-beta", second)
    users["operator"] = UserFactory(is_staff=True, is_superuser=True)
    token, _secret = customer_services.api_token_create(
        user=users["product_owner"], name="Monthly report"
    )
    world = World(a=a, b=b, users=users, token=token)
    world.invitation, _secret = invitations.invitation_create(
        organisation=a.organisation, email="pending@example.org", invited_by=users["org_admin"]
    )
    # Its accept page names its organisation to anyone holding the link: one with no marks.
    plain = organisation_create(name="Plain Test Council", slug="perm-plain")
    _invitation, world.invitation_key = invitations.invitation_create(
        organisation=plain, email="invitee@example.org"
    )
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        world.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return world


# ---------------------------------------------------------------- what each request sends


def _targets(world: World, row: table.Row, endpoint: Endpoint) -> list[tuple[str, dict]]:
    """The (label, URL kwargs) the row's URL is requested with: the first organisation's
    objects, which is what the second organisation's people try to reach."""
    a = world.a
    by_target = {
        "": [("", {})],
        "product": [("product", {"pk": a.product.pk})],
        "item": [("item", {"pk": a.items["item"].pk})],
        "session": [("session", {"pk": a.session.pk})],
        "session_item": [
            ("session_item", {"pk": a.session.pk, "item_pk": a.items["done_item"].pk})
        ],
        "open_round": [("open_round", {"pk": a.open_round.pk})],
        "closed_round": [("closed_round", {"pk": a.closed_round.pk})],
        "rounds": [
            ("open_round", {"pk": a.open_round.pk}),
            ("closed_round", {"pk": a.closed_round.pk}),
        ],
        "cohort": [("cohort", {"pk": a.cohort.pk})],
        "metric": [("metric", {"pk": a.metric.pk})],
        "token": [("token", {"pk": world.token.pk})],
        "membership": [("membership", {"pk": world.users["member"].membership.pk})],
        "invitation": [("invitation", {"pk": world.invitation.pk})],
        "invitation_key": [("invitation_key", {"key": world.invitation_key})],
        "capability": [("capability", {"pk": a.capability.pk})],
        "principle": [("principle", {"pk": a.organisation.principles.order_by("pk")[0].pk})],
    }
    if row.target == "admin" or endpoint.name.startswith("admin:"):
        return [("admin", _admin_kwargs(world, endpoint))]
    return by_target[row.target]


def _admin_model(url_name: str):
    """The model an admin URL name (admin:<app>_<model>_<action>) is about, if any."""
    bare = url_name.removeprefix("admin:")
    for model in admin.site._registry:
        if bare.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
            return model
    return None


def _admin_kwargs(world: World, endpoint: Endpoint) -> dict:
    """Ids for an admin URL: the first organisation's row where the model has one (the
    admin is refused before it is read, but if it were not, this is the row to protect)."""
    model = _admin_model(endpoint.name)
    item = world.a.items["item"]
    row_id = (
        model._default_manager.order_by("pk").values_list("pk", flat=True).first() or 1
        if model
        else item.pk
    )
    values = {
        "object_id": str(row_id),
        "id": str(row_id),
        "app_label": "backlog",
        "content_type_id": str(ContentType.objects.get_for_model(type(item)).pk),
        "url": "no-such-page/",
    }
    if endpoint.name == "admin:view_on_site":
        values["object_id"] = str(item.pk)
    return {name: values[name] for name in endpoint.kwargs}


# Query strings that make a GET plausible where the view needs some.
QUERIES = {
    # The user picker of the product roles inline (ProductRoleInline.autocomplete_fields).
    "admin:autocomplete": "?app_label=backlog&model_name=productrole&field_name=user&term=a",
}


def _url(endpoint: Endpoint, kwargs: dict) -> str:
    query = QUERIES.get(endpoint.name, "")
    if "<unnamed" not in endpoint.name:
        return reverse(endpoint.name, kwargs=kwargs) + query
    # An unnamed pattern (the admin's catch-all and its old object URLs): fill in by hand.
    route = re.sub(r"\^|\$", "", endpoint.route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: kwargs[m.group(1)], route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: kwargs[m.group(1)], route)
    return "/" + route + query


def _body(world: World, name: str, method: str, role: str) -> dict | list:
    """A plausible body: what the page's form or a sensible API client would send, with the
    first organisation's ids."""
    a = world.a
    now = timezone.localtime().replace(second=0, microsecond=0)
    candidates = list(
        a.open_round.candidates.order_by("position").values_list("item_id", flat=True)
    )
    grid = {}
    for cohort in a.cohorts:
        for metric in a.metrics:
            grid[f"value-{cohort.pk}-{metric.pk}"] = "12" if cohort == a.cohort else ""
            grid[f"confidence-{cohort.pk}-{metric.pk}"] = "medium"
            grid[f"evidence-{cohort.pk}-{metric.pk}"] = ""
    item_form = {
        "title": "Sent by the permission enumeration",
        "description": "",
        "status": "ready",
        "digitisation_level": "access",
        "effort": "5",
        "cohorts": [a.cohort.pk],
    }
    go_live_role = role if role in {r.value for r in GO_LIVE_ROLES} else "sponsor"
    product_form = {
        "name": a.product.name,
        "description": "",
        "kind": "product",
        "weekly_capacity": "20",
        "show_and_tell_weekday": "4",
        "new_items_position": "bottom",
    }
    signed_in = world.users.get(role)
    bodies = {
        "login": {"username": "nobody-here", "password": "not-the-password"},
        "backlog:item_create": item_form,
        "backlog:item_edit": item_form,
        "backlog:product_create": {
            **product_form,
            "name": "Made by the enumeration",
            "owner": signed_in.pk if signed_in else "",
        },
        "backlog:product_edit": product_form,
        "backlog:item_quick_add": {"title": "Quick add from the enumeration", "effort": "2"},
        "backlog:item_move": {"to": "down"},
        "backlog:item_pin": {"pinned": "true"},
        "backlog:decision_add": {"kind": "decision", "text": "Agreed during the enumeration"},
        "backlog:go_live_sign": {"role": go_live_role},
        "backlog:go_live_withdraw": {"role": go_live_role},
        "prioritisation:estimates_edit": grid,
        "prioritisation:scoring_settings": {
            "scoring_method": "benefit_per_effort",
            "effort_uplift": "1.2",
            "benefit_haircut": "0.1",
            "optimism_reason": "Our last three releases ran over.",
        },
        "prioritisation:round_create": {
            "title": "Next quarter",
            "method": "schulze",
            "shortlist_size": "2",
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
            "cohort_weighting": "on",
            "dot_budget": "10",
            "dot_max_per_item": "3",
        },
        "prioritisation:ballot": {f"rank-{pk}": str(i) for i, pk in enumerate(candidates, 1)},
        "prioritisation:round_keep": {"reason": "The owner's order follows the regulator."},
        "prioritisation:metric_edit": {
            "name": a.metric.name,
            "unit": a.metric.unit,
            "description": "Measured monthly.",
            "weight": "1",
            "higher_is_better": "on",
        },
        "backlog:capability_create": {"name": "Enumeration capability"},
        "backlog:capability_edit": {"name": a.capability.name, "description": "Card payments."},
        "backlog:principle_create": {"name": "Enumeration principle"},
        "backlog:principle_edit": {"name": "Cloud native", "description": "Bought as a service."},
        "backlog:principle_move": {"direction": "down"},
        "backlog:item_principles": {
            f"answer-{pk}": "meets" for pk in a.organisation.principles.values_list("pk", flat=True)
        },
        "customers:cohort_create": {
            "name": "Made by the enumeration",
            "kind": "receives",
            "description": "",
            "size": "40",
            "voice_weight": "1",
        },
        "prioritisation:metric_create": {
            "name": "Made by the enumeration",
            "unit": "hours per month",
            "description": "",
            "weight": "1",
            "higher_is_better": "on",
        },
        "customers:cohort_edit": {
            "name": a.cohort.name,
            "kind": a.cohort.kind,
            "description": "Everyone who uses the service.",
            "size": "120",
            "voice_weight": "1",
        },
        "accounts:api_token_create": {"name": "Enumeration script", "expires": "30"},
        "accounts:profile_details": {
            "first_name": "Enumerated",
            "last_name": "Person",
            "email": f"enumerated-{role}@example.org",
        },
        "accounts:profile_notifications": {"notify_digest": "on"},
        "accounts:password_change": {
            "old_password": "pw",
            "new_password1": "a-long-Unusual-passphrase-42",
            "new_password2": "a-long-Unusual-passphrase-42",
        },
        "customers:invitation_create": {"email": "enumerated@example.org", "role": "member"},
        "customers:member_edit": {"role": "member", "cohort": a.cohort.pk, "job_title": "Tester"},
        "customers:invitation_accept": {
            "first_name": "Enumerated",
            "last_name": "Invitee",
            "username": "enumerated-invitee",
            "password1": "a-long-Unusual-passphrase-42",
            "password2": "a-long-Unusual-passphrase-42",
        },
        "api:product_items": {"title": "Added over the API"},
        "api:item_detail": {"title": "Renamed over the API"},
        "api:item_estimates": [{"cohort": a.cohort.pk, "metric": a.metric.pk, "value": "7"}],
        "api:round_ballot": {"ranking": [[pk] for pk in candidates]},
    }
    return bodies.get(name, {})


# ---------------------------------------------------------------- requests and outcomes


@dataclass(frozen=True)
class Record:
    role: str
    name: str
    method: str
    url: str
    target: str
    status: int
    outcome: str
    expected: str
    has_mark_a: bool
    has_mark_b: bool
    error: str
    seconds: float

    def __str__(self) -> str:
        said = f"{self.status}" + (f" {self.error}" if self.error else "")
        return (
            f"{self.name} {self.method} {self.url} as {self.role}: {self.outcome} ({said}), "
            f"table says {self.expected}"
        )


def _login_paths() -> set[str]:
    return {resolve_url(settings.LOGIN_URL), reverse("admin:login")}


def classify(response, *, anonymous: bool, api: bool, login_paths: set[str]) -> str:
    code = response.status_code
    if code >= 500:
        return str(code)
    if code == 401 or (code == 403 and anonymous and api):
        return table.SIGN_IN
    if code == 403:
        return table.FORBIDDEN
    if code == 404:
        return table.NOT_FOUND
    if 300 <= code < 400:
        sent_to = urlsplit(response["Location"]).path
        return table.SIGN_IN if sent_to in login_paths else table.ALLOWED
    if 200 <= code < 300:
        return table.ALLOWED
    return str(code)


def _content(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _send(world: World, role: str, method: str, url: str, body) -> tuple:
    started = time.perf_counter()
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    # Every request sees the same world: what it writes is rolled back with its savepoint.
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        elif url.startswith(API_PREFIX):
            response = client.generic(
                method, url, json.dumps(body), content_type="application/json"
            )
        elif method == "POST":
            response = client.post(url, body)
        else:
            response = client.generic(method, url, urlencode(body, doseq=True))
        content = _content(response)
        transaction.set_rollback(True)
    error = ""
    if getattr(response, "exc_info", None):
        error = f"{response.exc_info[0].__name__}: {response.exc_info[1]}"
    return response, content, error, time.perf_counter() - started


@dataclass
class Enumeration:
    records: list[Record]
    missing: list[str]  # resolver URL names that have no row in the table
    endpoints: list[Endpoint]
    seconds: float
    cpu_seconds: float

    def summary(self) -> str:
        names = {r.name for r in self.records}
        by_name = Counter()
        for r in self.records:
            by_name[r.name] += r.seconds
        slowest = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in by_name.most_common(5))
        outcomes = dict(Counter(r.outcome for r in self.records))
        return (
            f"permission enumeration: {len(self.records)} requests over {len(names)} URL names "
            f"({len(self.endpoints)} resolver patterns) as {len(table.ROLES)} roles in "
            f"{self.seconds:.1f} s ({self.cpu_seconds:.1f} s CPU here); outcomes {outcomes}; "
            f"slowest: {slowest}"
        )


# The Django admin lets in staff only, by one site-wide check (AdminSite.has_permission)
# before any model admin runs: every role tries these pages, and every other admin URL is
# tried by the roles most likely to slip through, which keeps the run short.
ADMIN_EVERY_ROLE = frozenset(
    {
        "admin:index",
        "admin:app_list",
        "admin:login",
        "admin:logout",
        "admin:backlog_backlogitem_changelist",
        "admin:backlog_backlogitem_add",
        "admin:backlog_backlogitem_change",
        "admin:backlog_backlogitem_delete",
        "admin:backlog_backlogitem_history",
        "admin:customers_cohort_change",
        "admin:<unnamed admin/(?P<url>.*)$>",
    }
)
ADMIN_SAMPLE_ROLES = frozenset({"anonymous", "org_admin", "other_org_admin", "operator"})
# The OpenAPI schema is one public document generated from the code, the same for everyone,
# and each request builds it anew (~0.4 s): a few roles are enough to see it holds no data.
SCHEMA_ROLES = frozenset({"anonymous", "viewer", "other_org_admin", "operator"})


def _roles_for(name: str) -> tuple[str, ...]:
    if name.startswith("admin:") and name not in ADMIN_EVERY_ROLE:
        return tuple(role for role in table.ROLES if role in ADMIN_SAMPLE_ROLES)
    if name == "api_schema":
        return tuple(role for role in table.ROLES if role in SCHEMA_ROLES)
    return table.ROLES


def enumerate_requests(world: World) -> Enumeration:
    started, cpu = time.perf_counter(), time.process_time()
    login_paths = _login_paths()
    endpoints = resolver_endpoints()
    records, missing, seen = [], [], set()
    for endpoint in endpoints:
        if endpoint.name in seen:
            continue
        seen.add(endpoint.name)
        row = table.row_for(endpoint.name)
        if row is None:
            missing.append(endpoint.name)
            continue
        for label, kwargs in _targets(world, row, endpoint):
            url = _url(endpoint, kwargs)
            api = url.startswith(API_PREFIX)
            for method, outcomes in row.methods.items():
                for role in _roles_for(endpoint.name):
                    expected = outcomes[role]
                    if expected is None:
                        continue
                    body = _body(world, endpoint.name, method, role)
                    response, content, error, seconds = _send(world, role, method, url, body)
                    records.append(
                        Record(
                            role=role,
                            name=endpoint.name,
                            method=method,
                            url=url,
                            target=label,
                            status=response.status_code,
                            outcome=classify(
                                response,
                                anonymous=role == "anonymous",
                                api=api,
                                login_paths=login_paths,
                            ),
                            expected=expected,
                            has_mark_a=MARK_A in content,
                            has_mark_b=MARK_B in content,
                            error=error,
                            seconds=seconds,
                        )
                    )
    return Enumeration(
        records, missing, endpoints, time.perf_counter() - started, time.process_time() - cpu
    )


@pytest.fixture(scope="module")
def enumeration(django_db_setup, django_db_blocker) -> Enumeration:
    """Build the two organisations once, make every request, and roll it all back."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        result = enumerate_requests(world)
        transaction.set_rollback(True)
    print(result.summary())
    return result


# ---------------------------------------------------------------- the tests


def test_every_url_of_the_resolver_and_every_api_operation_is_in_the_permission_table():
    endpoints = resolver_endpoints()
    names = {e.name for e in endpoints}
    missing = sorted(name for name in names if table.row_for(name) is None)
    assert missing == [], f"URLs with no row in tests/permission_table.py: {missing}"
    operations = schema_operations()
    undeclared = sorted(
        f"{method} {name}"
        for name, method in operations
        if (row := table.row_for(name)) is None or method not in row.methods
    )
    assert undeclared == [], f"API operations not in tests/permission_table.py: {undeclared}"
    api_rows = {row.name: row for row in table.TABLE if row.name.startswith("api:")}
    declared = {(name, method) for name, method in operations}
    stale_methods = sorted(
        f"{method} {name}"
        for name, row in api_rows.items()
        for method in row.methods
        if (name, method) not in declared
    )
    assert stale_methods == [], f"table methods the API schema does not declare: {stale_methods}"
    stale = [row.name for row in table.TABLE if not any(row.matches(n) for n in names)]
    assert stale == [], f"rows for URLs that no longer exist: {stale}"


def test_the_permission_table_gives_every_role_an_outcome_and_other_organisations_404():
    assert set(table.PRODUCT_ROLES) == set(ProductRoleKind.values)
    problems = []
    for row in table.TABLE:
        for method, outcomes in row.methods.items():
            if set(outcomes) != set(table.ROLES):
                problems.append(f"{row.name} {method}: roles {sorted(outcomes)}")
            if any(o not in (*table.OUTCOMES, None) for o in outcomes.values()):
                problems.append(f"{row.name} {method}: unknown outcome")
            if row.target not in table.TARGETS:
                problems.append(f"{row.name}: unknown target {row.target!r}")
            if row.target not in ("", "admin", "invitation_key"):
                for role in table.OTHER_ORGANISATION:
                    if outcomes[role] != table.NOT_FOUND:
                        problems.append(f"{row.name} {method}: {role} must get 404")
    assert problems == []


def test_every_role_gets_what_the_permission_table_says(enumeration):
    wrong = [str(r) for r in enumeration.records if r.outcome != r.expected]
    assert wrong == [], "\n".join([enumeration.summary(), *wrong])
    assert enumeration.missing == [], f"not in the table: {enumeration.missing}"
    assert len(enumeration.records) > 1000, enumeration.summary()


def test_no_request_of_the_enumeration_answers_a_server_error(enumeration):
    errors = [str(r) for r in enumeration.records if r.status >= 500]
    assert errors == [], "\n".join(errors)


def test_another_organisations_objects_are_404_and_its_data_is_in_no_body(enumeration):
    """The second organisation's people ask for the first's ids: 404, always. No body any
    request gets shows the other organisation's names, titles or decisions."""
    not_404 = [
        str(r)
        for r in enumeration.records
        if r.role in table.OTHER_ORGANISATION
        and r.target not in ("", "admin", "invitation_key")
        and r.outcome != table.NOT_FOUND
    ]
    assert not_404 == [], "\n".join(not_404)
    leaks = [
        f"{r} shows {MARK_A if r.has_mark_a else MARK_B}"
        for r in enumeration.records
        if (r.has_mark_a and (r.role in table.OTHER_ORGANISATION or r.role == "anonymous"))
        or (r.has_mark_b and r.role != "operator" and r.role not in table.OTHER_ORGANISATION)
    ]
    assert leaks == [], "\n".join(leaks)
    # The markers are really there to be found: the first organisation's people see them.
    assert any(r.has_mark_a and r.role == "viewer" for r in enumeration.records)
    assert any(r.has_mark_b and r.role == "other_org_member" for r in enumeration.records)


def test_the_django_admin_refuses_everyone_but_the_operator(enumeration):
    admin_records = [r for r in enumeration.records if r.name.startswith("admin:")]
    let_in = [
        str(r)
        for r in admin_records
        if r.role != "operator"
        # The sign-in page, and signing out (anyone else is sent to the admin's front page).
        and r.name not in ("admin:login", "admin:logout")
        and r.outcome not in (table.SIGN_IN, table.FORBIDDEN)
    ]
    assert let_in == [], "\n".join(let_in)
    refused = {
        r.role for r in admin_records if r.outcome == table.SIGN_IN and r.name != "admin:logout"
    }
    assert refused == set(table.ROLES) - {"operator"}
    every_admin_url = {e.name for e in enumeration.endpoints if e.name.startswith("admin:")}
    assert every_admin_url >= ADMIN_EVERY_ROLE
    tried_by_org_admin = {r.name for r in admin_records if r.role == "org_admin"}
    assert tried_by_org_admin == every_admin_url
    assert any(r.role == "operator" and r.outcome == table.ALLOWED for r in admin_records)


def test_the_readme_permission_section_is_the_table_rendered():
    readme = table.README.read_text()
    assert table.START in readme and table.END in readme, "README.md lacks the markers"
    assert table.readme_block(readme) == table.render_markdown().strip("\n"), (
        "README.md's permission table is out of date: run `python -m tests.permission_table "
        "--write`"
    )
