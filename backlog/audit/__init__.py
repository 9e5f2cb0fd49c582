"""The recorded history, read back: an item's changes and an organisation's audit log.

This package combines every app's event tables (kept by django-pghistory's triggers, see
``customers.history``), so it sits with the views, above ``prioritisation``.

Tenancy comes from the rows themselves: an event belongs to the organisation its row
belongs to (an item's product's, a ballot's round's product's...), never to whoever acted,
so another organisation's events cannot appear, whoever made them.

A page costs a fixed number of queries, whatever its length: one for the page's events
across all tables (``UNION ALL``, newest first), one per kind of row on the page (each
event with the one before it of the same row, which gives the "before" values), and one per
kind of related row named (people, items, cohorts...).
"""

from __future__ import annotations

from backlog.audit.entries import Change, Entry
from backlog.audit.log import (
    ITEM_PAGE_LIMIT,
    MAX_PAGE,
    PAGE_SIZE,
    AuditFilters,
    Page,
    audit_page,
    audit_rows,
    item_changes,
    safe_cell,
)
from backlog.audit.sources import CHANGES, SOURCES, Source

__all__ = [
    "CHANGES",
    "ITEM_PAGE_LIMIT",
    "MAX_PAGE",
    "PAGE_SIZE",
    "SOURCES",
    "AuditFilters",
    "Change",
    "Entry",
    "Page",
    "Source",
    "audit_page",
    "audit_rows",
    "item_changes",
    "safe_cell",
]
