"""Who may do what: one row per URL name (and method) × role, the single source of truth.

``tests/test_permissions.py`` requests every URL of Django's resolver and every operation of
the OpenAPI schema as each role below and compares what happens with this table; a URL that
is not here fails that test. The README's permission section is rendered from it:

    python -m tests.permission_table          # print the Markdown
    python -m tests.permission_table --write  # rewrite README.md between the markers

Plain data: importing this module needs neither Django nor a database.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

# ---------------------------------------------------------------- roles

PRODUCT_ROLES = (
    "product_owner",
    "sponsor",
    "business_analyst",
    "lead_engineer",
    "delivery_lead",
    "business_voter",
    "key_user",
    "viewer",
)
# Everyone the enumeration signs in as (or not). "org_admin" and "member" are members of
# the organisation that owns the objects requested, "member" with no role on any product;
# each product role is held on that organisation's product. "other_org_admin" and
# "other_org_member" belong to a second organisation (the member holds every product role
# there) and request the first organisation's ids. "operator" is the site operator: a Django
# superuser who is a member of no organisation.
ROLES = (
    "anonymous",
    *PRODUCT_ROLES,
    "org_admin",
    "member",
    "other_org_admin",
    "other_org_member",
    "operator",
)
ROLE_HEADINGS = {
    "anonymous": "anonymous",
    "product_owner": "product owner",
    "sponsor": "sponsor",
    "business_analyst": "business analyst",
    "lead_engineer": "lead engineer",
    "delivery_lead": "delivery lead",
    "business_voter": "business voter",
    "key_user": "key user",
    "viewer": "viewer",
    "org_admin": "org admin",
    "member": "member, no role",
    "other_org_admin": "other org's admin",
    "other_org_member": "other org's member",
    "operator": "site operator",
}
ORGANISATION = frozenset({*PRODUCT_ROLES, "org_admin", "member"})
OTHER_ORGANISATION = frozenset({"other_org_admin", "other_org_member"})

# ---------------------------------------------------------------- outcomes

ALLOWED = "allowed"  # 2xx, or a 3xx that is not to a sign-in page
FORBIDDEN = "403"
NOT_FOUND = "404"
SIGN_IN = "sign-in"  # a redirect to a sign-in page; 401, or 403 for an anonymous API call
OUTCOMES = (ALLOWED, FORBIDDEN, NOT_FOUND, SIGN_IN)
SYMBOLS = {ALLOWED: "✓", FORBIDDEN: "403", NOT_FOUND: "404", SIGN_IN: "sign-in"}

EDITORS = frozenset({"product_owner", "business_analyst", "lead_engineer", "delivery_lead"})
GO_LIVE = frozenset({"sponsor", "business_analyst", "lead_engineer", "delivery_lead"})
OWNER = frozenset({"product_owner"})
PRODUCT_PEOPLE = frozenset(PRODUCT_ROLES)


def rule(
    allowed: frozenset[str] | set[str],
    *,
    anonymous: str = SIGN_IN,
    others: str = FORBIDDEN,
    other_org_admin: str = NOT_FOUND,
    other_org_member: str = NOT_FOUND,
    operator: str = NOT_FOUND,
) -> dict[str, str]:
    """The common shape: ``allowed`` roles may, the organisation's other members get
    ``others``; the other organisation's people get 404 (its objects do not exist for them);
    the operator, a member of no organisation, gets 404 from the app's pages."""
    outcome = {role: ALLOWED if role in allowed else others for role in ORGANISATION}
    outcome.update(
        anonymous=anonymous,
        other_org_admin=other_org_admin,
        other_org_member=other_org_member,
        operator=operator,
    )
    return outcome


def every_member() -> dict[str, str]:
    return rule(ORGANISATION)


def with_admin(roles: frozenset[str]) -> frozenset[str]:
    return roles | {"org_admin"}


def everyone() -> dict[str, str]:
    return dict.fromkeys(ROLES, ALLOWED)


def signed_in() -> dict[str, str]:
    return {**dict.fromkeys(ROLES, ALLOWED), "anonymous": SIGN_IN}


def operator_only(*, operator: str = ALLOWED) -> dict[str, str]:
    return {**dict.fromkeys(ROLES, SIGN_IN), "operator": operator}


# ---------------------------------------------------------------- rows

# What a URL's ids point at, in the organisation that owns the objects.
TARGETS = {
    "": "no id",
    "product": "the product",
    "item": "a ready item",
    "session": "this week's show-and-tell",
    "session_item": "the show-and-tell and a done item",
    "open_round": "the open voting round",
    "closed_round": "the closed voting round",
    "rounds": "the open and the closed round",
    "cohort": "a cohort",
    "metric": "a benefit metric",
    "capability": "a capability (built by the ready item)",
    "principle": "a technology principle",
    "token": "the product owner's API token",
    "membership": "the membership of the member with no role",
    "invitation": "a pending invitation",
    "invitation_key": "a pending invitation's link (its secret, not an id: no organisation's)",
    "admin": "the first row of the model (the admin is the operator's)",
}


@dataclass(frozen=True)
class Row:
    """One URL name (or, for the Django admin, a glob of names): what its ids point at and
    the outcome per method and role. ``None`` for a role means not requested."""

    name: str
    target: str
    methods: dict[str, dict[str, str | None]]
    note: str = ""

    def matches(self, url_name: str) -> bool:
        return fnmatchcase(url_name, self.name) if "*" in self.name else url_name == self.name


def _pages() -> list[Row]:
    member = every_member()
    editors = rule(with_admin(EDITORS))
    owner = rule(with_admin(OWNER))
    people = rule(with_admin(PRODUCT_PEOPLE))
    admins_only = rule(
        {"org_admin"}, other_org_admin=ALLOWED, other_org_member=FORBIDDEN, operator=NOT_FOUND
    )
    org_admin_object = rule({"org_admin"})
    invitation_link = {**dict.fromkeys(ROLES, FORBIDDEN), "anonymous": ALLOWED}
    own_list = rule(ORGANISATION, other_org_admin=ALLOWED, other_org_member=ALLOWED)
    return [
        Row("login", "", {"GET": everyone(), "POST": everyone()}, "signed in: back to home"),
        Row(
            "logout",
            "",
            {"POST": dict.fromkeys(ROLES, SIGN_IN)},
            "signs out and goes back to the sign-in page",
        ),
        Row(
            "oidc_authentication_init",
            "",
            {"GET": dict.fromkeys(ROLES, NOT_FOUND)},
            "single sign-on: 404 unless configured; then anyone, to the provider",
        ),
        Row(
            "oidc_authentication_callback",
            "",
            {"GET": dict.fromkeys(ROLES, NOT_FOUND)},
            "single sign-on's return: 404 unless configured; then matched by verified e-mail",
        ),
        Row("accounts:profile", "", {"GET": signed_in()}, "everyone's own profile"),
        Row(
            "accounts:profile_details",
            "",
            {"POST": signed_in()},
            "one's own name and e-mail address (the cohort is an admin's to change)",
        ),
        Row(
            "accounts:profile_notifications",
            "",
            {"POST": {**signed_in(), "operator": NOT_FOUND}},
            "one's own e-mail choices; the operator, in no organisation, has none",
        ),
        Row(
            "accounts:password_change",
            "",
            {"POST": signed_in()},
            "one's own password (Django's form: the old one first); stays signed in",
        ),
        Row(
            "accounts:api_token_create",
            "",
            {"POST": signed_in()},
            "a token for oneself, with one's own permissions",
        ),
        Row(
            "accounts:api_token_revoke",
            "token",
            {"POST": rule({"product_owner"}, others=NOT_FOUND)},
            "only one's own tokens: anyone else's is 404, an organisation admin's included",
        ),
        Row(
            "backlog:home",
            "",
            {"GET": rule(ORGANISATION, other_org_admin=ALLOWED, other_org_member=ALLOWED)},
            "each organisation sees its own products",
        ),
        Row("backlog:product_backlog", "product", {"GET": member}),
        Row(
            "backlog:product_create",
            "",
            {"GET": admins_only, "POST": admins_only},
            "organisation admins, each creating a product in their own organisation",
        ),
        Row("backlog:product_edit", "product", {"GET": owner, "POST": owner}),
        Row(
            "backlog:product_archive",
            "product",
            {"GET": org_admin_object, "POST": org_admin_object},
            "GET, or a POST without confirmed=yes, is the confirm step saying what archiving "
            "means; an archived product refuses every write (403) until restored",
        ),
        Row("backlog:product_restore", "product", {"POST": org_admin_object}),
        Row(
            "backlog:product_people",
            "product",
            {"GET": people, "POST": owner},
            "the people × roles matrix: the product's people read it, admins and its product "
            "owners change it",
        ),
        Row("backlog:item_create", "product", {"GET": editors, "POST": editors}),
        Row("backlog:item_quick_add", "product", {"POST": editors}),
        Row("backlog:item_detail", "item", {"GET": member}),
        Row("backlog:item_edit", "item", {"GET": editors, "POST": editors}),
        Row("backlog:item_history", "item", {"GET": member}),
        Row("backlog:item_move", "item", {"POST": owner}),
        Row("backlog:item_pin", "item", {"POST": owner}),
        Row("backlog:compare", "product", {"GET": member}),
        Row("backlog:order_apply_scores", "product", {"POST": owner}),
        Row("backlog:order_undo", "product", {"POST": owner}),
        Row("backlog:session_list", "product", {"GET": people}),
        Row(
            "backlog:session_start",
            "product",
            {"POST": rule({"delivery_lead"})},
            "the delivery lead only, not an organisation admin",
        ),
        Row("backlog:session_detail", "session", {"GET": people}),
        Row("backlog:session_present", "session", {"GET": people}),
        Row("backlog:next_up_confirm", "session", {"POST": rule(GO_LIVE)}),
        Row("backlog:decision_add", "session", {"POST": rule(GO_LIVE | OWNER)}),
        Row(
            "backlog:session_finish",
            "session",
            {"GET": rule({"delivery_lead"}), "POST": rule({"delivery_lead"})},
            "GET, or a POST without confirmed=yes, is the confirm step naming who gets the "
            "digest; only a confirmed POST finishes",
        ),
        Row(
            "backlog:go_live_sign",
            "session_item",
            {"POST": rule(GO_LIVE)},
            "a signature is only ever the signer's own, for a go-live role they hold",
        ),
        Row(
            "backlog:go_live_sign_all",
            "session",
            {"GET": rule(GO_LIVE), "POST": rule(GO_LIVE)},
            "the list waiting for the signer's own go-live roles, then one POST signing it",
        ),
        Row(
            "backlog:go_live_withdraw",
            "session_item",
            {"POST": people},
            "withdraws only the signer's own signature: anyone else of the product is sent "
            "back with a message",
        ),
        Row("prioritisation:item_score", "item", {"GET": member}),
        Row("prioritisation:estimates_edit", "item", {"POST": editors}),
        Row("prioritisation:scoring_inputs_edit", "item", {"POST": editors}),
        Row(
            "prioritisation:scoring_settings",
            "product",
            {"GET": member, "POST": owner},
            "every member reads how a product is scored",
        ),
        Row("prioritisation:round_list", "product", {"GET": member}),
        Row("prioritisation:round_create", "product", {"GET": owner, "POST": owner}),
        Row("prioritisation:round_results", "rounds", {"GET": member}),
        Row(
            "prioritisation:round_pairwise_csv",
            "rounds",
            {"GET": member},
            "the results page's whole head-to-head table",
        ),
        Row(
            "prioritisation:ballot",
            "open_round",
            {"GET": rule({"business_voter"}), "POST": rule({"business_voter"})},
            "business voters only, not an organisation admin",
        ),
        Row("prioritisation:round_adopt", "closed_round", {"POST": owner}),
        Row("prioritisation:round_keep", "closed_round", {"POST": owner}),
        Row("prioritisation:round_close", "open_round", {"POST": owner}),
        Row(
            "prioritisation:round_reopen",
            "closed_round",
            {"POST": owner},
            "the product owner; refused with a message once the result was adopted or the "
            "planned closing time has passed",
        ),
        Row(
            "backlog:capability_list",
            "",
            {"GET": own_list},
            "every member reads their own organisation's capabilities",
        ),
        Row("backlog:capability_create", "", {"GET": admins_only, "POST": admins_only}),
        Row("backlog:capability_detail", "capability", {"GET": member}),
        Row(
            "backlog:capability_edit",
            "capability",
            {"GET": org_admin_object, "POST": org_admin_object},
        ),
        Row(
            "backlog:principle_list",
            "",
            {"GET": own_list},
            "every member reads their own organisation's technology principles",
        ),
        Row("backlog:principle_create", "", {"GET": admins_only, "POST": admins_only}),
        Row(
            "backlog:principle_edit",
            "principle",
            {"GET": org_admin_object, "POST": org_admin_object},
        ),
        Row("backlog:principle_move", "principle", {"POST": org_admin_object}),
        Row("backlog:principle_archive", "principle", {"POST": org_admin_object}),
        Row("backlog:principle_restore", "principle", {"POST": org_admin_object}),
        Row(
            "backlog:item_principles",
            "item",
            {"POST": editors},
            "the item's checks against the principles: its editors answer, every member reads "
            "them on the item page",
        ),
        Row("prioritisation:metric_list", "", {"GET": admins_only}),
        Row(
            "prioritisation:metric_edit",
            "metric",
            {"GET": org_admin_object, "POST": org_admin_object},
        ),
        Row(
            "prioritisation:metric_create",
            "",
            {"GET": admins_only, "POST": admins_only},
            "organisation admins, each adding a metric to their own organisation",
        ),
        Row("prioritisation:metric_archive", "metric", {"POST": org_admin_object}),
        Row("prioritisation:metric_restore", "metric", {"POST": org_admin_object}),
        Row(
            "prioritisation:metric_delete",
            "metric",
            {"GET": org_admin_object, "POST": org_admin_object},
            "deletes only a metric no estimate refers to; otherwise back to the page, which "
            "says what refers to it and offers to archive it",
        ),
        Row("customers:cohort_list", "", {"GET": admins_only}),
        Row("customers:member_list", "", {"GET": admins_only}),
        Row(
            "customers:invitation_create",
            "",
            {"POST": admins_only},
            "organisation admins, each inviting people to their own organisation",
        ),
        Row("customers:invitation_resend", "invitation", {"POST": org_admin_object}),
        Row("customers:invitation_revoke", "invitation", {"POST": org_admin_object}),
        Row(
            "customers:member_edit",
            "membership",
            {"GET": org_admin_object, "POST": org_admin_object},
        ),
        Row("customers:member_deactivate", "membership", {"POST": org_admin_object}),
        Row("customers:member_reactivate", "membership", {"POST": org_admin_object}),
        Row(
            "customers:invitation_accept",
            "invitation_key",
            {"GET": invitation_link, "POST": invitation_link},
            "no sign-in needed: the link is the credential. Anyone signed in is refused (403) "
            "whatever the link, and nothing changes; a wrong, used, expired or revoked link "
            "gets one neutral 404",
        ),
        Row(
            "customers:password_sign_in",
            "",
            {"POST": admins_only},
            "each admin their own organisation's; off only when signed in through single sign-on",
        ),
        Row(
            "backlog:audit_log",
            "",
            {"GET": admins_only},
            "organisation admins, each seeing their own organisation's log",
        ),
        Row("backlog:audit_log_csv", "", {"GET": admins_only}),
        Row(
            "customers:cohort_edit",
            "cohort",
            {"GET": org_admin_object, "POST": org_admin_object},
        ),
        Row(
            "customers:cohort_create",
            "",
            {"GET": admins_only, "POST": admins_only},
            "organisation admins, each adding a cohort to their own organisation",
        ),
        Row("customers:cohort_archive", "cohort", {"POST": org_admin_object}),
        Row("customers:cohort_restore", "cohort", {"POST": org_admin_object}),
        Row(
            "customers:cohort_delete",
            "cohort",
            {"GET": org_admin_object, "POST": org_admin_object},
            "deletes only a cohort nothing refers to; otherwise back to the page, which says "
            "what refers to it and offers to archive it",
        ),
    ]


def _api() -> list[Row]:
    def api(allowed: frozenset[str], **kwargs) -> dict[str, str]:
        return rule(allowed, **kwargs)

    member = api(ORGANISATION)
    editors = api(with_admin(EDITORS))
    people = api(with_admin(PRODUCT_PEOPLE))
    voter = api({"business_voter"})
    own_list = api(ORGANISATION, other_org_admin=ALLOWED, other_org_member=ALLOWED)
    return [
        Row("api_schema", "", {"GET": everyone()}, "the OpenAPI schema is public"),
        Row("api_docs", "", {"GET": everyone()}, "the interactive API docs are public"),
        Row("api:product_list", "", {"GET": own_list}, "each organisation's own products"),
        Row("api:product_items", "product", {"GET": member, "POST": editors}),
        Row("api:item_detail", "item", {"GET": member, "PATCH": editors}),
        Row("api:item_estimates", "item", {"GET": member, "PUT": editors}),
        Row("api:item_score", "item", {"GET": member}),
        Row("api:metric_list", "", {"GET": own_list}, "each organisation's own metrics"),
        Row("api:product_rounds", "product", {"GET": member}),
        Row("api:round_result", "rounds", {"GET": member}),
        Row(
            "api:round_ballot",
            "open_round",
            {"GET": voter, "PUT": voter},
            "the voter's own ballot",
        ),
        Row("api:product_sessions", "product", {"GET": people}),
        Row("api:session_detail", "session", {"GET": people}),
    ]


def _admin() -> list[Row]:
    refused = operator_only()
    return [
        Row(
            "admin:login",
            "",
            {"GET": everyone()},
            "the operator's sign-in page; it tells anyone else they may not enter",
        ),
        Row(
            "admin:<unnamed admin/(?P<url>.*)$>",
            "",
            {"GET": operator_only(operator=NOT_FOUND)},
            "the admin's catch-all: a 404 for the operator",
        ),
        Row(
            "admin:<unnamed admin/*/<path:object_id>/>",
            "admin",
            {"GET": refused},
            "an object's old admin address, sent on to its change page",
        ),
        Row(
            "admin:view_on_site",
            "admin",
            {"GET": operator_only(operator=NOT_FOUND)},
            "no model has a page of its own on the site, so a 404 for the operator",
        ),
        Row(
            "admin:*_add",
            "admin",
            {"GET": operator_only(operator=None), "POST": operator_only(operator=None)},
            "what the operator may add, change or delete is each model admin's choice (the "
            "history and sign-in records are read-only), so only the refusals are requested",
        ),
        Row(
            "admin:*_change",
            "admin",
            {"GET": refused, "POST": operator_only(operator=None)},
        ),
        Row(
            "admin:*_delete",
            "admin",
            {"GET": operator_only(operator=None), "POST": operator_only(operator=None)},
        ),
        Row(
            "admin:logout",
            "",
            {"POST": {**everyone(), "operator": SIGN_IN}},
            "signs the operator out, back to the sign-in page; anyone else is only sent to the "
            "admin's front page, which asks them to sign in",
        ),
        Row(
            "admin:*",
            "admin",
            {"GET": refused},
            "every other Django admin page: the operator's alone",
        ),
    ]


TABLE: list[Row] = _pages() + _api() + _admin()


def row_for(url_name: str) -> Row | None:
    """The row for a URL name: an exact name first, then the first glob that matches."""
    exact = [row for row in TABLE if row.name == url_name]
    if exact:
        return exact[0]
    return next((row for row in TABLE if "*" in row.name and row.matches(url_name)), None)


# ---------------------------------------------------------------- the README section

START = "<!-- permissions:start -->"
END = "<!-- permissions:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def render_markdown() -> str:
    """The permission table as Markdown, one line per URL name and method."""
    headings = ["URL name", "method", *(ROLE_HEADINGS[role] for role in ROLES)]
    lines = [
        "| " + " | ".join(headings) + " |",
        "| " + " | ".join("---" for _ in headings) + " |",
    ]
    for row in TABLE:
        for method, outcomes in row.methods.items():
            cells = [SYMBOLS[o] if o else "–" for o in (outcomes[role] for role in ROLES)]
            lines.append(f"| `{row.name}` | {method} | " + " | ".join(cells) + " |")
    notes = [f"- `{row.name}`: {row.note}." for row in TABLE if row.note]
    return "\n".join(
        [
            "✓ allowed (a page, a result or a redirect that is not to sign in); 403 refused; "
            "404 not found (another organisation's objects do not exist for you); sign-in: "
            "sent to sign in (the API answers 401 or 403); – not requested.",
            "",
            *lines,
            "",
            *notes,
        ]
    )


def readme_block(text: str) -> str:
    """What the README holds between the markers (without them)."""
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end].strip("\n")


def write_readme(path: Path = README) -> None:
    text = path.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    path.write_text(text[:start] + "\n" + render_markdown() + "\n" + text[end:])


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write_readme()
    else:
        print(render_markdown())
