"""Tenants (organisations), who belongs to them, and the cohorts of customers they serve."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from customers.history import track_history


class Organisation(models.Model):
    """A tenant: a council, trust or department. Nothing crosses between organisations."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(max_length=64, default="Europe/London")
    # Off when the organisation signs in only through its identity provider (single sign-on).
    password_sign_in = models.BooleanField(
        default=True,
        help_text="Members may sign in with a password. Switch off to require single sign-on.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrganisationRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


@track_history("user", "organisation", "role", "cohort", "job_title", "deactivated_at")
class Membership(models.Model):
    """A user's place in an organisation. A user belongs to exactly one organisation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(
        max_length=16, choices=OrganisationRole.choices, default=OrganisationRole.MEMBER
    )
    # The cohort whose voice this person carries when voting (colleague, citizen, leader…).
    cohort = models.ForeignKey(
        "Cohort", null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    job_title = models.CharField(max_length=120, blank=True)
    # A deactivated member cannot sign in (their user is made inactive); their ballots,
    # signatures and history stay attributed to them.
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # E-mail notifications the person can switch off on their profile page.
    notify_round_opened = models.BooleanField(
        default=True, help_text="A voting round I can vote in opens."
    )
    notify_round_closing = models.BooleanField(
        default=True, help_text="A round I have not voted in closes within 24 hours."
    )
    notify_go_live = models.BooleanField(
        default=True, help_text="An item waits for my go-live signature."
    )
    notify_digest = models.BooleanField(
        default=True, help_text="The show-and-tell digest of my products."
    )

    class Meta:
        ordering = ["organisation", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == OrganisationRole.ADMIN


class CohortKind(models.TextChoices):
    USES = "uses", "People who use our systems"
    RECEIVES = "receives", "People who receive our services"
    STEERS = "steers", "People who steer"


@track_history("organisation", "name", "description", "kind", "size", "voice_weight", "archived_at")
class Cohort(models.Model):
    """A group of customers an item can be for, with a size and a voice weight."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="cohorts")
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=CohortKind.choices)
    size = models.PositiveIntegerField(help_text="Number of people in the cohort.")
    voice_weight = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=1,
        help_text="This cohort's share of influence in scores and votes, whatever its size.",
    )
    # An archived cohort takes no new estimates, ballots or members; what refers to it stays.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="cohort_unique_name_per_organisation"
            ),
            models.CheckConstraint(
                condition=Q(voice_weight__gte=0), name="cohort_voice_weight_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


DEFAULT_COHORTS: tuple[dict, ...] = (
    {
        "name": "Colleagues",
        "kind": CohortKind.USES,
        "description": "Staff who use our systems to deliver services.",
        "size": 1000,
        "voice_weight": 1,
    },
    {
        "name": "Citizens",
        "kind": CohortKind.RECEIVES,
        "description": "Residents and businesses who need our services.",
        "size": 100000,
        "voice_weight": 1,
    },
    {
        "name": "Leaders",
        "kind": CohortKind.STEERS,
        "description": "Councillors and senior leaders who need data to steer.",
        "size": 50,
        "voice_weight": 1,
    },
)


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash of the secret is stored: the secret carries
    256 random bits, so a fast hash is as safe as a slow one and keeps every API request
    cheap (a password hash such as PBKDF2 costs ~300 ms, also for unknown callers).

    The token reads ``bb_<prefix>_<secret>``; the public prefix finds the row with one
    indexed lookup, the hash of the whole token is then compared in constant time.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Also the index every authenticated API request looks its token up by.
            models.UniqueConstraint(fields=["prefix"], name="api_token_unique_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active_at(self, moment) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > moment


class Invitation(models.Model):
    """A one-time invitation to join an organisation, sent by e-mail as a signed link.

    Only a SHA-256 hash of the link's secret is stored (as for API tokens); the link is
    single-use (``accepted_at``), expires (``expires_at``, 7 days) and can be revoked.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(
        max_length=16, choices=OrganisationRole.choices, default=OrganisationRole.MEMBER
    )
    cohort = models.ForeignKey(
        Cohort, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_accepted",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "email"], name="invitation_org_email")]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.organisation}"

    def is_usable_at(self, moment) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > moment


class NotificationKind(models.TextChoices):
    INVITED = "invited", "You were invited"
    ROUND_OPENED = "round_opened", "A round opened"
    ROUND_CLOSING = "round_closing", "A round closes within 24 hours"
    GO_LIVE_WAITING = "go_live_waiting", "An item waits for your go-live signature"
    DIGEST = "digest", "Show-and-tell digest"


class NotificationSent(models.Model):
    """One e-mail notification sent to one address about one thing, so each is sent once
    however often the task that sends it runs (``about`` names the thing: ``round:12``)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="notifications_sent"
    )
    email = models.EmailField()
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    about = models.CharField(max_length=80)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["email", "kind", "about"], name="notification_sent_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} about {self.about} to {self.email}"
