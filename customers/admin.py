from django.contrib import admin

from customers.models import (
    ApiToken,
    Cohort,
    Invitation,
    Membership,
    NotificationSent,
    Organisation,
)


class CohortInline(admin.TabularInline):
    model = Cohort
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "password_sign_in", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CohortInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "cohort", "job_title", "deactivated_at"]
    list_filter = ["organisation", "role"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "organisation", "cohort"]


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "kind", "size", "voice_weight", "archived_at"]
    list_filter = ["organisation", "kind"]
    list_select_related = ["organisation"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Personal API tokens, for the site operator to see and revoke. Tokens are created on
    the person's profile page only: the secret exists once, in that answer."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations, for the site operator to see and revoke. They are made on the members
    page or by ``create_organisation``: the link exists once, in that e-mail or output."""

    list_display = ["email", "organisation", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["organisation", "role"]
    search_fields = ["email"]
    list_select_related = ["organisation"]
    exclude = ["key_hash"]
    readonly_fields = [
        "organisation",
        "email",
        "role",
        "cohort",
        "invited_by",
        "created_at",
        "sent_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
    ]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(NotificationSent)
class NotificationSentAdmin(admin.ModelAdmin):
    """What was e-mailed to whom, for the operator to read: a record, never edited."""

    list_display = ["sent_at", "kind", "about", "email", "organisation"]
    list_filter = ["kind", "organisation"]
    search_fields = ["email", "about"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyHistoryAdmin(admin.ModelAdmin):
    """A history table (django-pghistory events) for the site operator to read, never to
    change: no add, change or delete here, and the tables refuse UPDATE and DELETE anyway
    (``PGHISTORY_APPEND_ONLY``)."""

    list_display = ["pgh_created_at", "pgh_label", "pgh_obj_id", "pgh_context_id"]
    list_filter = ["pgh_label"]
    ordering = ["-pgh_created_at", "-pgh_id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def register_history(*tracked) -> None:
    """Show the history tables of ``tracked`` models in the admin, read only."""
    for model in tracked:
        admin.site.register(model.pgh_event_model, ReadOnlyHistoryAdmin)


register_history(Membership, Cohort)
