"""Browsers ask for /favicon.ico on every page; the app answers it rather than a 404."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/favicon.ico", "image/"), ("/apple-touch-icon.png", "image/png")],
)
def test_root_icons_are_served_to_anyone(client, path, content_type):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert b"".join(response.streaming_content)


def test_pages_link_an_icon_that_is_served(client):
    page = client.get(reverse("login")).content.decode()
    href = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert href, "the page names no icon"
    icon = client.get(href.group(1))
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
