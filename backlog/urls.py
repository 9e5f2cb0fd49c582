from django.urls import path

from backlog import views

app_name = "backlog"

urlpatterns = [
    # The organisation's audit log combines every app's history, so it is served here, in
    # the layer that may read them all, under the organisation's address.
    path("organisation/audit/", views.audit_log, name="audit_log"),
    path("organisation/audit/export.csv", views.audit_log_csv, name="audit_log_csv"),
    path("organisation/capabilities/", views.capability_list, name="capability_list"),
    path("organisation/capabilities/new/", views.capability_create, name="capability_create"),
    path("organisation/capabilities/<int:pk>/", views.capability_detail, name="capability_detail"),
    path("organisation/capabilities/<int:pk>/edit/", views.capability_edit, name="capability_edit"),
    path("organisation/principles/", views.principle_list, name="principle_list"),
    path("organisation/principles/new/", views.principle_create, name="principle_create"),
    path("organisation/principles/<int:pk>/edit/", views.principle_edit, name="principle_edit"),
    path("organisation/principles/<int:pk>/move/", views.principle_move, name="principle_move"),
    path(
        "organisation/principles/<int:pk>/archive/",
        views.principle_archive,
        name="principle_archive",
    ),
    path(
        "organisation/principles/<int:pk>/restore/",
        views.principle_restore,
        name="principle_restore",
    ),
    path("", views.home, name="home"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.product_backlog, name="product_backlog"),
    path("products/<int:pk>/settings/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/archive/", views.product_archive, name="product_archive"),
    path("products/<int:pk>/restore/", views.product_restore, name="product_restore"),
    path("products/<int:pk>/people/", views.product_people, name="product_people"),
    path("products/<int:pk>/items/new/", views.item_create, name="item_create"),
    path("products/<int:pk>/items/quick-add/", views.item_quick_add, name="item_quick_add"),
    path("items/<int:pk>/", views.item_detail, name="item_detail"),
    path("items/<int:pk>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:pk>/history/", views.item_history, name="item_history"),
    path("items/<int:pk>/principles/", views.item_principles, name="item_principles"),
    path("items/<int:pk>/move/", views.item_move, name="item_move"),
    path("items/<int:pk>/pin/", views.item_pin, name="item_pin"),
    path("products/<int:pk>/compare/", views.compare, name="compare"),
    path(
        "products/<int:pk>/apply-score-order/",
        views.order_apply_scores,
        name="order_apply_scores",
    ),
    path("products/<int:pk>/undo-reorder/", views.order_undo, name="order_undo"),
    path("products/<int:pk>/show-and-tell/", views.session_list, name="session_list"),
    path("products/<int:pk>/show-and-tell/start/", views.session_start, name="session_start"),
    path("show-and-tell/<int:pk>/", views.session_detail, name="session_detail"),
    path("show-and-tell/<int:pk>/present/", views.session_present, name="session_present"),
    path("show-and-tell/<int:pk>/next-up/", views.next_up_confirm, name="next_up_confirm"),
    path("show-and-tell/<int:pk>/decisions/", views.decision_add, name="decision_add"),
    path("show-and-tell/<int:pk>/finish/", views.session_finish, name="session_finish"),
    path(
        "show-and-tell/<int:pk>/items/<int:item_pk>/sign/", views.go_live_sign, name="go_live_sign"
    ),
    path("show-and-tell/<int:pk>/sign-all/", views.go_live_sign_all, name="go_live_sign_all"),
    path(
        "show-and-tell/<int:pk>/items/<int:item_pk>/withdraw/",
        views.go_live_withdraw,
        name="go_live_withdraw",
    ),
]
