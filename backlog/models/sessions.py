"""The weekly show-and-tell of a product, its decisions, and the joint go-live."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from backlog.models.core import BacklogItem, Product, ProductRoleKind
from customers.history import DELETE, INSERT, track_history

# The "four amigos": an item goes live only when a holder of each of these roles has signed.
GO_LIVE_ROLES = (
    ProductRoleKind.SPONSOR,
    ProductRoleKind.BUSINESS_ANALYST,
    ProductRoleKind.LEAD_ENGINEER,
    ProductRoleKind.DELIVERY_LEAD,
)


class ShowAndTell(models.Model):
    """One product's show-and-tell for one week (weeks start on Monday, in the
    organisation's time zone)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="sessions")
    week_start = models.DateField(help_text="Monday of the session's week.")
    date = models.DateField()
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="show_and_tells"
    )
    notes = models.TextField(blank=True)
    # "Next up", as the group confirmed it: frozen so later weeks can compare plan and outcome.
    next_up = models.JSONField(default=list, blank=True)
    next_up_confirmed_at = models.DateTimeField(null=True, blank=True)
    next_up_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # Every section as it stood at finish (backlog.showandtell.freeze): a finished session
    # is a fixed record, whatever happens to its items afterwards.
    record = models.JSONField(null=True, blank=True, editable=False)
    digest_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-pk"]
        constraints = [
            # Exactly one session per product per week, however often the beat task runs.
            models.UniqueConstraint(
                fields=["product", "week_start"], name="show_and_tell_one_per_week"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} show-and-tell, {self.date:%d %b %Y}"


class DecisionKind(models.TextChoices):
    DECISION = "decision", "Decision"
    ACTION = "action", "Action"


class Decision(models.Model):
    session = models.ForeignKey(ShowAndTell, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=8, choices=DecisionKind.choices)
    text = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who will do it (actions).",
    )
    agreed_by = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


@track_history("item", "role", "signer", "session", events=(INSERT, DELETE))
class GoLiveSignature(models.Model):
    """A current go-live signature: one per item and role. Withdrawing deletes it (the item's
    history keeps both events)."""

    item = models.ForeignKey(BacklogItem, on_delete=models.CASCADE, related_name="signatures")
    role = models.CharField(max_length=32, choices=ProductRoleKind.choices)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(
        ShowAndTell, null=True, blank=True, on_delete=models.SET_NULL, related_name="signatures"
    )
    signed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "role"], name="signature_one_per_role"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in GO_LIVE_ROLES]),
                name="signature_go_live_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} signed item {self.item_id}"
