"""What the customers layer announces; higher layers react (see their ``AppConfig.ready``).

Sent inside the writing service's transaction, so a receiver's work commits or rolls back
with the change, and a receiver's error fails the service.
"""

from django.dispatch import Signal

# An organisation was created (kwargs: organisation). Prioritisation adds default metrics.
organisation_created = Signal()
# A cohort's voice weight or size may have changed (kwargs: organisation_id). Prioritisation
# rescores every product of the organisation.
cohort_changed = Signal()
