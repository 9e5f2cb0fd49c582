"""The first run of a real installation: create an organisation (with its default cohorts,
metrics and principles) and invite its first admin, printing the one-time link.

    python manage.py create_organisation "Mid Sussex District Council" \\
        --time-zone Europe/London --admin-email someone@example.gov.uk \\
        --base-url https://backlog.midsussex.gov.uk

Running it again for the same name or slug says so and changes nothing.
"""

from __future__ import annotations

import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from customers.history import command_context
from customers.invitations import INVITATION_LIFETIME, invitation_create, invitation_link
from customers.models import Organisation, OrganisationRole
from customers.services import organisation_create


class Command(BaseCommand):
    help = (
        "Create an organisation with its default cohorts and metrics, and invite its first "
        "admin: prints the one-time invitation link and sends it by e-mail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "name", help="The organisation's name, e.g. “Mid Sussex District Council”."
        )
        parser.add_argument(
            "--admin-email", required=True, help="The e-mail address of its first admin."
        )
        parser.add_argument(
            "--time-zone",
            default="Europe/London",
            help="An IANA time zone, e.g. Europe/London (the default).",
        )
        parser.add_argument(
            "--slug", default="", help="Short name used in addresses (default: from the name)."
        )
        parser.add_argument(
            "--base-url",
            default="",
            help="The site's address, for the link (default: the SITE_URL setting), e.g. "
            "https://backlog.example.gov.uk.",
        )

    def handle(self, *args, **options) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("Give the organisation a name.")
        slug = slugify(options["slug"] or name)[:80]
        if not slug:
            raise CommandError("The name needs letters or digits to make a slug; give --slug.")
        time_zone = options["time_zone"]
        if time_zone not in zoneinfo.available_timezones():
            raise CommandError(
                f"Unknown time zone “{time_zone}”: give an IANA name such as Europe/London."
            )
        email = options["admin_email"].strip()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"“{email}” is not an e-mail address.") from exc
        base_url = (options["base_url"] or getattr(settings, "SITE_URL", "")).rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CommandError(
                "Give the site's address for the link, e.g. --base-url "
                "https://backlog.example.gov.uk (or set SITE_URL)."
            )
        existing = Organisation.objects.filter(name__iexact=name).first() or (
            Organisation.objects.filter(slug=slug).first()
        )
        if existing is not None:
            raise CommandError(
                f"An organisation “{existing.name}” (slug {existing.slug}) already exists: "
                "nothing was changed. Invite people from its members page."
            )
        try:
            with transaction.atomic(), command_context("create_organisation"):
                organisation = organisation_create(name=name, slug=slug, time_zone=time_zone)
                invitation, raw = invitation_create(
                    organisation=organisation,
                    email=email,
                    role=OrganisationRole.ADMIN,
                    base_url=base_url,
                )
        except IntegrityError as exc:  # created by someone else a moment ago
            raise CommandError(
                f"An organisation with the slug {slug} already exists: nothing was changed."
            ) from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        days = INVITATION_LIFETIME.days
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {organisation.name} (slug {organisation.slug}, time zone "
                f"{organisation.time_zone}) with its default cohorts and metrics."
            )
        )
        self.stdout.write(
            f"Invited {invitation.email} as its first admin. The invitation is e-mailed "
            f"(when e-mail is configured); this link works once, within {days} days:\n"
        )
        self.stdout.write(f"    {invitation_link(base_url, raw)}\n")
