from django.contrib import admin

from customers.models import Cohort, Membership, Organisation


class CohortInline(admin.TabularInline):
    model = Cohort
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CohortInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "cohort", "job_title"]
    list_filter = ["organisation", "role"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "organisation", "cohort"]


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "kind", "size", "voice_weight"]
    list_filter = ["organisation", "kind"]
    list_select_related = ["organisation"]
