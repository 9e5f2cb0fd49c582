"""What the backlog core announces; higher layers react (see their ``AppConfig.ready``).

Sent inside the writing service's transaction, after its row locks (product, then item), so
a receiver's work commits or rolls back with the change.
"""

from django.dispatch import Signal

# Something that enters the product's scores changed: an item added, its effort, status or
# cohorts edited, or it went live (kwargs: product). Prioritisation rescores the product.
items_changed = Signal()
