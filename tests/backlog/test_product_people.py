"""A product's people: granting and revoking its roles (only active members of its
organisation; the last product owner is kept, also against two revocations at once), and
the people × roles page, changed a cell at a time with htmx or all at once without it."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from backlog import services
from backlog.models import ProductRole, ProductRoleKind
from backlog.services.products import LAST_OWNER_MESSAGE, RoleChange
from customers.models import Membership
from tests.conftest import HTMX, client_for, require_postgresql

pytestmark = pytest.mark.django_db

OWNER = ProductRoleKind.PRODUCT_OWNER
SPONSOR = ProductRoleKind.SPONSOR


def roles_of(product, user) -> set[str]:
    return set(
        ProductRole.objects.filter(product=product, user=user).values_list("role", flat=True)
    )


def deactivate(user) -> None:
    Membership.objects.filter(user=user).update(deactivated_at=timezone.now())
    user.is_active = False
    user.save(update_fields=["is_active"])


@pytest.fixture
def admin(make_member):
    return make_member(admin=True)


@pytest.fixture
def colleague(make_member):
    """A member of the organisation with no role on the product."""
    return make_member()


# ---------------------------------------------------------------- services


def test_a_grant_needs_an_active_member_of_the_products_organisation(product, colleague, outsider):
    services.product_role_grant(product=product, user=colleague, role=SPONSOR)
    assert roles_of(product, colleague) == {SPONSOR}
    with pytest.raises(ValidationError, match="active members"):
        services.product_role_grant(product=product, user=outsider, role=SPONSOR)
    deactivate(colleague)
    with pytest.raises(ValidationError, match="active members"):
        services.product_role_grant(product=product, user=colleague, role=OWNER)
    with pytest.raises(ValidationError, match="not a product role"):
        services.product_role_grant(product=product, user=outsider, role="emperor")
    assert not ProductRole.objects.filter(user=outsider, product=product).exists()


def test_granting_a_role_twice_keeps_one(product, colleague):
    services.product_role_grant(product=product, user=colleague, role=SPONSOR)
    services.product_role_grant(product=product, user=colleague, role=SPONSOR)
    assert ProductRole.objects.filter(product=product, user=colleague).count() == 1


def test_the_last_product_owner_cannot_be_revoked(product, owner, colleague):
    with pytest.raises(ValidationError) as refused:
        services.product_role_revoke(product=product, user=owner, role=OWNER)
    assert refused.value.messages == [LAST_OWNER_MESSAGE]
    assert roles_of(product, owner) == {OWNER}
    services.product_role_grant(product=product, user=colleague, role=OWNER)
    assert services.product_role_revoke(product=product, user=owner, role=OWNER) is True
    assert roles_of(product, owner) == set()


def test_a_deactivated_co_owner_does_not_count_as_the_owner_who_remains(product, owner, colleague):
    services.product_role_grant(product=product, user=colleague, role=OWNER)
    deactivate(colleague)
    with pytest.raises(ValidationError):
        services.product_role_revoke(product=product, user=owner, role=OWNER)
    # The deactivated one can be tidied away: someone active still owns the product.
    assert services.product_role_revoke(product=product, user=colleague, role=OWNER) is True


def test_revoking_a_role_not_held_changes_nothing(product, owner, colleague):
    assert services.product_role_revoke(product=product, user=colleague, role=SPONSOR) is False


def test_handing_over_in_one_save_grants_before_it_revokes(product, owner, colleague):
    done = services.product_roles_set(
        product=product,
        changes=[
            RoleChange(user=owner, role=OWNER, held=False),
            RoleChange(user=colleague, role=OWNER, held=True),
        ],
    )
    assert (done.granted, done.revoked) == (1, 1)
    assert roles_of(product, owner) == set() and roles_of(product, colleague) == {OWNER}


def test_a_refused_save_of_many_cells_changes_none_of_them(product, owner, colleague):
    with pytest.raises(ValidationError):
        services.product_roles_set(
            product=product,
            changes=[
                RoleChange(user=colleague, role=SPONSOR, held=True),
                RoleChange(user=owner, role=OWNER, held=False),
            ],
        )
    assert roles_of(product, colleague) == set()
    assert roles_of(product, owner) == {OWNER}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_revoking_each_other_at_once_leave_one_owner(product, make_member):
    """Without the product row lock both would count the other as remaining and both
    revocations would pass, leaving the product with no owner."""
    require_postgresql()
    first = make_member(product=product, roles=[OWNER])
    second = make_member(product=product, roles=[OWNER])
    for _attempt in range(5):
        assert sorted(_revoke_both_at_once(product, first, second)) == ["refused", "revoked"]
        assert ProductRole.objects.filter(product=product, role=OWNER).count() == 1
        # Both owners again for the next attempt.
        for user in (first, second):
            ProductRole.objects.get_or_create(product=product, user=user, role=OWNER)


def _revoke_both_at_once(product, first, second) -> list[str]:
    start = threading.Barrier(2)
    results: list[str] = []

    def revoke(user) -> None:
        try:
            start.wait()
            services.product_role_revoke(product=product, user=user, role=OWNER)
            results.append("revoked")
        except ValidationError:
            results.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=revoke, args=(u,)) for u in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# ---------------------------------------------------------------- the page


def people_url(product) -> str:
    return reverse("backlog:product_people", args=[product.pk])


def test_an_admin_sees_every_active_member_against_every_role(
    product, owner, admin, colleague, make_member
):
    gone = make_member()
    gone.first_name, gone.last_name = "Gone", "Away"
    gone.save()
    deactivate(gone)
    response = client_for(admin).get(people_url(product))
    assert response.status_code == 200
    body = response.content.decode()
    for label in ProductRoleKind.labels:
        assert f'<th scope="col">{label}</th>' in body
    assert f'name="cell-{colleague.pk}-sponsor"' in body
    assert (
        f'name="cell-{owner.pk}-product_owner" id="cell-{owner.pk}-product_owner" checked' in body
    )
    assert "Gone Away" not in body
    assert 'hx-post="' + people_url(product) in body


def test_the_product_owner_may_change_it_too(product, owner):
    body = client_for(owner).get(people_url(product)).content.decode()
    assert 'type="checkbox"' in body


def test_the_products_other_people_read_who_holds_its_roles(product, owner, viewer, colleague):
    response = client_for(viewer).get(people_url(product))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'type="checkbox"' not in body
    assert owner.get_full_name() in body
    assert colleague.get_full_name() not in body  # no role: not listed for a reader
    post = client_for(viewer).post(people_url(product), {f"cell-{colleague.pk}-sponsor": "on"})
    assert post.status_code == 403
    assert roles_of(product, colleague) == set()


def test_a_member_with_no_role_is_refused_and_another_organisation_gets_404(
    product, colleague, outsider_client, client
):
    assert client_for(colleague).get(people_url(product)).status_code == 403
    assert outsider_client.get(people_url(product)).status_code == 404
    assert outsider_client.post(people_url(product), {}).status_code == 404
    assert client.get(people_url(product)).status_code == 302


def _cell(user, role) -> str:
    return f"cell-{user.pk}-{role}"


def test_ticking_a_cell_with_htmx_grants_the_role_and_answers_only_its_row(
    product, owner, colleague
):
    name = _cell(colleague, SPONSOR)
    response = client_for(owner).post(
        people_url(product),
        {"person": [owner.pk, colleague.pk], name: "on", _cell(owner, OWNER): "on"},
        HTTP_HX_TRIGGER_NAME=name,
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and body.strip().startswith(f'<tr id="person-{colleague.pk}"')
    assert f'name="{name}" id="{name}" checked' in body
    assert "Saved" in body
    assert roles_of(product, colleague) == {SPONSOR}


def test_unticking_a_cell_with_htmx_revokes_only_that_role(product, owner, colleague):
    services.product_role_grant(product=product, user=colleague, role=SPONSOR)
    services.product_role_grant(product=product, user=colleague, role=OWNER)
    # The other boxes of the form come along unticked: only the changed cell counts.
    response = client_for(owner).post(
        people_url(product),
        {"person": [owner.pk, colleague.pk]},
        HTTP_HX_TRIGGER_NAME=_cell(colleague, SPONSOR),
        **HTMX,
    )
    assert response.status_code == 200
    assert roles_of(product, colleague) == {OWNER}
    assert roles_of(product, owner) == {OWNER}


def test_unticking_the_last_owner_says_why_beside_the_box_and_keeps_it(product, owner, admin):
    name = _cell(owner, OWNER)
    response = client_for(admin).post(
        people_url(product), {"person": [owner.pk]}, HTTP_HX_TRIGGER_NAME=name, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert LAST_OWNER_MESSAGE in body
    assert f'id="{name}-error"' in body and f'aria-describedby="{name}-error"' in body
    assert f'name="{name}" id="{name}" checked' in body
    assert roles_of(product, owner) == {OWNER}


def test_an_owner_giving_up_ownership_has_the_page_reload_read_only(product, owner, colleague):
    services.product_role_grant(product=product, user=colleague, role=OWNER)
    response = client_for(owner).post(
        people_url(product), {}, HTTP_HX_TRIGGER_NAME=_cell(owner, OWNER), **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert roles_of(product, owner) == set()


@pytest.mark.parametrize(
    "name", ["cell-x-sponsor", "cell-1-emperor", "anything", "cell-999999-sponsor"]
)
def test_a_cell_that_is_not_one_is_a_bad_request(product, owner, name):
    response = client_for(owner).post(people_url(product), {}, HTTP_HX_TRIGGER_NAME=name, **HTMX)
    assert response.status_code == 400
    assert roles_of(product, owner) == {OWNER}


def test_a_cell_for_someone_of_another_organisation_is_refused(product, owner, outsider):
    name = _cell(outsider, SPONSOR)
    response = client_for(owner).post(
        people_url(product), {name: "on"}, HTTP_HX_TRIGGER_NAME=name, **HTMX
    )
    assert response.status_code == 400
    assert not ProductRole.objects.filter(product=product, user=outsider).exists()


def test_without_javascript_the_whole_form_saves_what_changed(product, owner, colleague, viewer):
    data = {
        "person": [owner.pk, colleague.pk, viewer.pk],
        _cell(owner, OWNER): "on",
        _cell(colleague, SPONSOR): "on",
        _cell(colleague, ProductRoleKind.KEY_USER): "on",
        # the viewer's box left unticked: the role is taken away
    }
    client = client_for(owner)
    response = client.post(people_url(product), data)
    assert response.status_code == 302
    assert roles_of(product, colleague) == {SPONSOR, ProductRoleKind.KEY_USER}
    assert roles_of(product, viewer) == set()
    page = client.get(response["Location"]).content.decode()
    assert "Saved: 2 roles given, 1 taken away." in page


def test_without_javascript_a_refused_save_changes_nothing_and_says_where(
    product, owner, colleague
):
    data = {"person": [owner.pk, colleague.pk], _cell(colleague, SPONSOR): "on"}
    response = client_for(owner).post(people_url(product), data)
    assert response.status_code == 422
    body = response.content.decode()
    assert "Nothing was changed" in body
    assert f'id="{_cell(owner, OWNER)}-error"' in body
    assert roles_of(product, colleague) == set()
    assert roles_of(product, owner) == {OWNER}


def test_people_not_shown_on_the_page_keep_their_roles(product, owner, viewer):
    """A search shows some people only: the form changes the rows it showed, no others."""
    response = client_for(owner).post(
        people_url(product), {"person": [owner.pk], _cell(owner, OWNER): "on"}
    )
    assert response.status_code == 302
    assert roles_of(product, viewer) == {ProductRoleKind.VIEWER}


def test_a_person_id_that_is_not_a_number_is_a_bad_request(product, owner):
    response = client_for(owner).post(people_url(product), {"person": ["x"]})
    assert response.status_code == 400


def test_a_search_finds_people_by_name(product, owner, admin, make_member):
    someone = make_member()
    someone.first_name, someone.last_name = "Priya", "Shah"
    someone.save()
    body = client_for(admin).get(people_url(product), {"q": "priya"}).content.decode()
    assert "Priya Shah" in body
    assert f'name="person" value="{owner.pk}"' not in body


def test_the_page_reads_in_constant_queries_however_many_people(
    product, admin, make_member, django_assert_max_num_queries
):
    """Guards against a query per person (their roles) or per cell."""
    for n in range(60):
        make_member(product=product, roles=[SPONSOR] if n % 2 else [])
    client = client_for(admin)
    client.get(people_url(product))
    with django_assert_max_num_queries(12):
        assert client.get(people_url(product)).status_code == 200
