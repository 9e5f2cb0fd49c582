from django.contrib import admin

from backlog.models import (
    BacklogItem,
    Capability,
    Decision,
    GoLiveSignature,
    ItemCapability,
    ItemEvent,
    ItemPrincipleCheck,
    OrderSnapshot,
    OrderVersion,
    Principle,
    Product,
    ProductRole,
    ShowAndTell,
)
from customers.admin import register_history


class ProductRoleInline(admin.TabularInline):
    model = ProductRole
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "kind", "weekly_capacity", "archived_at"]
    list_filter = ["organisation", "kind"]
    search_fields = ["name"]
    inlines = [ProductRoleInline]


@admin.register(ProductRole)
class ProductRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "product", "role"]
    list_filter = ["role", "product__organisation"]
    list_select_related = ["user", "product"]


@admin.register(Capability)
class CapabilityAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "owner_product", "same_as"]
    list_filter = ["organisation"]
    search_fields = ["name"]
    list_select_related = ["organisation", "owner_product", "same_as"]


@admin.register(OrderVersion)
class OrderVersionAdmin(admin.ModelAdmin):
    """The counter the items table's triggers keep: for the operator to read, never to set
    (a wrong value would serve stale manual ranks)."""

    list_display = ["product_id", "version"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Principle)
class PrincipleAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "position", "archived_at"]
    list_filter = ["organisation"]
    search_fields = ["name"]


@admin.register(ItemPrincipleCheck)
class ItemPrincipleCheckAdmin(admin.ModelAdmin):
    list_display = ["item", "principle", "answer", "updated_at"]
    list_filter = ["answer", "principle__organisation"]
    list_select_related = ["item", "principle"]
    raw_id_fields = ["item"]


class ItemCapabilityInline(admin.TabularInline):
    model = ItemCapability
    extra = 0


@admin.register(BacklogItem)
class BacklogItemAdmin(admin.ModelAdmin):
    list_display = ["title", "product", "status", "digitisation_level", "effort", "rank_key"]
    list_filter = ["product__organisation", "status", "digitisation_level"]
    search_fields = ["title", "external_key"]
    list_select_related = ["product"]
    raw_id_fields = ["created_by"]
    filter_horizontal = ["cohorts"]
    inlines = [ItemCapabilityInline]


@admin.register(ItemCapability)
class ItemCapabilityAdmin(admin.ModelAdmin):
    list_display = ["item", "capability", "use"]
    raw_id_fields = ["item"]


@admin.register(ItemEvent)
class ItemEventAdmin(admin.ModelAdmin):
    list_display = ["item", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["item", "actor"]


@admin.register(OrderSnapshot)
class OrderSnapshotAdmin(admin.ModelAdmin):
    list_display = ["product", "kind", "actor", "created_at", "undone_at"]
    list_filter = ["kind"]
    exclude = ["keys"]  # up to 100,000 pairs: not for a form
    readonly_fields = ["product", "actor", "kind", "note", "created_at", "undone_at"]


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0
    raw_id_fields = ["owner", "created_by"]
    filter_horizontal = ["agreed_by"]


@admin.register(ShowAndTell)
class ShowAndTellAdmin(admin.ModelAdmin):
    list_display = ["product", "date", "week_start", "finished_at", "digest_sent_at"]
    list_filter = ["product__organisation"]
    raw_id_fields = ["started_by", "next_up_confirmed_by"]
    filter_horizontal = ["attendees"]
    inlines = [DecisionInline]


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["session", "kind", "text", "owner", "created_at"]
    raw_id_fields = ["owner", "created_by", "session"]


@admin.register(GoLiveSignature)
class GoLiveSignatureAdmin(admin.ModelAdmin):
    list_display = ["item", "role", "signer", "signed_at"]
    raw_id_fields = ["item", "signer", "session"]


register_history(
    Product, ProductRole, BacklogItem, OrderSnapshot, GoLiveSignature, Principle, ItemPrincipleCheck
)
