from django.contrib import admin

from backlog.models import BacklogItem, Capability, ItemCapability, ItemEvent, Product, ProductRole


class ProductRoleInline(admin.TabularInline):
    model = ProductRole
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "kind", "weekly_capacity"]
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
    list_display = ["name", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name"]


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
