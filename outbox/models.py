from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """A Celery task recorded in the same transaction as the change that called for it.

    Sent to the broker after that transaction commits; if the broker cannot take it then
    (Redis stopped or hung), the sweep sends it later. A row is never deleted unsent.
    """

    task = models.CharField(max_length=200, help_text="The Celery task's registered name.")
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            # The sweep's query: unsent rows whose next attempt is due, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(sent_at__isnull=True),
                name="outbox_unsent_due",
            ),
        ]

    def __str__(self) -> str:
        state = f"sent {self.sent_at:%Y-%m-%d %H:%M:%S}" if self.sent_at else "unsent"
        return f"{self.task}({self.kwargs}) {state}"
