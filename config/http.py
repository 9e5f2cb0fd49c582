"""What a request may carry, checked once at the edge, so that no view hands the database
(or ``redirect()``) something it fails on with a 500.

- ``RefuseNulMiddleware``: a NUL character anywhere in the path, query, form body,
  cookies or headers is refused with 400. PostgreSQL text cannot hold NUL (psycopg
  raises DataError); forms refuse it field by field, raw ``request.GET``/``POST`` reads
  did not.
- ``parse_int`` / ``int_param``: whole numbers as people and links write them (ASCII
  digits), never ``int()``, which takes "٣" and "3_000" and spends time on 5,000-digit
  strings, after ``str.isdigit()`` has passed "²" that ``int()`` then refuses.
- ``same_site_path`` / ``redirect_back``: ``next`` is followed only when it is a path on
  this site; ``redirect("abc")`` would look "abc" up as a view name (NoReverseMatch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

# PostgreSQL's integer and bigint: positions, counts and offsets fit the first, ids the second.
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1
# More significant digits than any bound above: such a number is out of range, whatever it is.
_MAX_DIGITS = 30

NUL = "\x00"
API_PREFIX = "/api/"  # config/urls.py: answered in JSON
NUL_REFUSED = (
    "This request was refused: {where} contains a NUL character (\\0), which nothing here "
    "accepts. Remove it and try again."
)


def parse_int(value: object) -> int | None:
    """The whole number in ``value``: ASCII digits with an optional sign, spaces around
    allowed. None when it is anything else (empty, "1.5", "²", "٣", "3_000", "1e3")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip(" \t\r\n")
    sign = -1 if text.startswith("-") else 1
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (digits.isascii() and digits.isdigit()):
        return None
    significant = digits.lstrip("0") or "0"
    if len(significant) > _MAX_DIGITS:
        return sign * 10**_MAX_DIGITS  # beyond every bound; avoids int() on a huge string
    return sign * int(significant)


def int_param(
    value: object,
    *,
    default: int | None = None,
    minimum: int = -BIGINT_MAX,
    maximum: int = BIGINT_MAX,
) -> int | None:
    """A query or form parameter as a whole number within [minimum, maximum]: a number past
    a bound is that bound (a position past the end is the end; an id past bigint is no
    row), and anything that is not a whole number is ``default``."""
    number = parse_int(value)
    if number is None:
        return default
    return min(max(number, minimum), maximum)


def same_site_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site ("/…", never "//host" or "/\\host"), with
    no control characters; else None."""
    if not target or not target.startswith("/") or not target.isprintable():
        return None
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=set()):
        return None
    return target


def redirect_back(request: HttpRequest, fallback: str, *args, **kwargs) -> HttpResponseRedirect:
    """To the form's ``next`` when it is a same-site path, else to ``fallback`` (a URL name
    and its arguments, as for ``redirect()``)."""
    target = same_site_path(request.POST.get("next") or request.GET.get("next"))
    if target:
        return HttpResponseRedirect(target)
    return redirect(fallback, *args, **kwargs)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _has_nul(pairs: Iterable[tuple[str, list[str]]]) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in pairs)


def _nul_in(request: HttpRequest) -> str | None:
    """Where the request carries a NUL, or None."""
    if NUL in request.path:
        return "the address"
    if _has_nul(request.GET.lists()):
        return "the query"
    if any(NUL in key or NUL in value for key, value in request.COOKIES.items()):
        return "a cookie"
    # Headers reach the database too: a token lookup, a sign-in attempt's user agent.
    if any(key.startswith("HTTP_") and NUL in str(value) for key, value in request.META.items()):
        return "a header"
    # Form bodies of pages (CsrfViewMiddleware reads request.POST the same way a moment
    # later). The API takes JSON only, and its parser refuses NUL itself: reading a form
    # body here would hide it from the API's 415.
    if request.method == "POST" and not _is_api(request) and _has_nul(request.POST.lists()):
        return "the form"
    return None


class RefuseNulMiddleware:
    """Answers 400 with a message, before any view, session or database lookup, to a
    request with a NUL in it: JSON under the API, plain text elsewhere (the page layout
    would read the session, which may be where the NUL is)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _nul_in(request)
        if where is None:
            return self.get_response(request)
        message = NUL_REFUSED.format(where=where)
        if _is_api(request):
            return JsonResponse({"detail": message}, status=400)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
