"""The API's input edge (set as Django REST framework's defaults in settings): a JSON parser
that refuses what would fail deeper down, one pagination (by cursor, with a cap), and
serializer fields that take exactly what the OpenAPI schema says.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import pagination, parsers, serializers
from rest_framework.exceptions import NotFound, ParseError, ValidationError

from config.http import BIGINT_MAX, NUL, parse_int

# Deeper than any body this API takes (a ballot's tiers are three levels); json.loads
# itself recurses, and 100,000 "[" raise RecursionError.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."
BAD_TEXT = (
    "JSON parse error - a string contains {what}, which no field accepts: "
    "text must be valid Unicode without NUL."
)


def _refuse_bad_text(text: str) -> None:
    if NUL in text:
        raise ParseError(BAD_TEXT.format(what="a NUL character (\\u0000)"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800"): PostgreSQL cannot store it and the JSON renderer
        # cannot echo it back in an error message.
        raise ParseError(BAD_TEXT.format(what="a lone surrogate (\\ud800-\\udfff)")) from None


def check_parsed_json(data: object) -> None:
    """Walk the parsed body without recursion: every string (keys too) is valid text and
    no container is nested deeper than MAX_JSON_DEPTH."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _refuse_bad_text(value)
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ParseError(TOO_DEEP)
            if isinstance(value, dict):
                for key, child in value.items():
                    _refuse_bad_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in value)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (NaN and Infinity already refused: STRICT_JSON), refusing with 400
    bodies nested too deep and text with NUL or lone surrogates."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        check_parsed_json(data)
        return data


class CursorPagination(pagination.CursorPagination):
    """Pages by cursor (keyset): each page continues after the last row of the page before,
    by the view's ``ordering`` (an indexed key, unique or nearly, then the id), so the last
    page costs what the first does and nothing counts the rows.

    ``limit`` at most ``max_page_size`` (a larger one is capped); a ``limit`` that is not a
    count, or a cursor this API did not give, is refused with 400, as the schema says.
    ``offset`` is refused too: ignored, it would hand a client counting offsets the first
    page for ever.

    A walk by ``next`` returns every row that stays where it is exactly once, in order,
    whatever else changes meanwhile; a row moved during the walk is returned where it
    stands when the walk reaches its new place (so once, twice or not at all).
    """

    ordering = ("-pk",)  # a view's ``ordering`` replaces it
    page_size_query_param = "limit"
    max_page_size = 1000
    page_size_query_description = (
        f"Number of results to return per page: 1 or more; more than {max_page_size} is capped."
    )
    cursor_query_description = (
        "Where the page starts: the value in the next or previous link. Omit for the first page."
    )
    invalid_cursor_message = (
        "Not a cursor this API gave: follow the next and previous links as they are."
    )
    offset_refused_message = (
        "Lists page by cursor, not offset: follow the next link, which carries the cursor."
    )

    def paginate_queryset(self, queryset, request, view=None):
        if "offset" in request.query_params:
            raise ValidationError({"offset": [self.offset_refused_message]})
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        return tuple(getattr(view, "ordering", None) or self.ordering)

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        limit = parse_int(raw)
        if limit is None or limit < 1:
            raise ValidationError(
                {self.page_size_query_param: ["Give a whole number of 1 or more."]}
            )
        return min(limit, self.max_page_size)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise self._invalid_cursor() from None
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position)
        return cursor

    def _check_position(self, position: str) -> None:
        """The position is filtered on as the ordering key's value (``key > position``):
        anything the key's column would not hold is a 400 here, not a 500 in the query.
        Only the text the API writes into its cursors passes (``str()`` of the value)."""
        name = self.ordering[0].lstrip("-")
        options = self._model._meta
        field = options.pk if name == "pk" else options.get_field(name)
        try:
            value = field.clean(position, None)
        except DjangoValidationError:
            raise self._invalid_cursor() from None
        naive = isinstance(value, datetime) and timezone.is_naive(value)
        if NUL in position or naive or str(value) != position:
            raise self._invalid_cursor()

    def _invalid_cursor(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        page = super().get_paginated_response_schema(schema)
        page["required"] = ["next", "previous", "results"]
        for link in ("next", "previous"):  # DRF's "next" example ends in a stray quote
            example = page["properties"][link]["example"]
            page["properties"][link]["example"] = example.rstrip('"')
        return page

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


# ---------------------------------------------------------------- strict fields
# DRF's own fields coerce: CharField takes 0 as "0", IntegerField takes "3" and 3.0,
# DecimalField takes "" as null. The schema says string, integer, decimal; so do these.


class StrictCharField(serializers.CharField):
    """Text only: a number, a boolean, a list or an object is refused, not stringified."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (3, or 3.0): not "3", not true, not 3.5; within bigint."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", -BIGINT_MAX)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StrictDecimalField(serializers.DecimalField):
    """A decimal as a JSON number or a numeric string: "" and "  " are refused rather than
    read as null (send null for that), and so are true and false."""

    def validate_empty_values(self, data):
        if isinstance(data, str) and not data.strip():
            self.fail("invalid")
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDecimalFieldSchema(OpenApiSerializerFieldExtension):
    """In requests, a number or a string with at least one digit; in responses, the string
    DRF renders."""

    target_class = StrictDecimalField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "response":
            return schema
        field = self.target
        # DRF's pattern makes every digit optional (so "" and "-" would match), and allows a
        # sign the field's minimum may refuse.
        sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
        schema["pattern"] = schema["pattern"].replace(r"^-?\d{0,", rf"^{sign}\d{{1,", 1)
        schema.pop("minimum", None)
        schema.pop("maximum", None)
        number = {"type": "number"}
        if field.max_digits is not None and field.decimal_places is not None:
            bound = 10 ** (field.max_digits - field.decimal_places)
            number.update({"exclusiveMinimum": True, "minimum": -bound})
            number.update({"exclusiveMaximum": True, "maximum": bound})
        if field.min_value is not None:
            number.update({"exclusiveMinimum": False, "minimum": float(field.min_value)})
        text = {key: schema.pop(key) for key in ("type", "format", "pattern") if key in schema}
        return {**schema, "oneOf": [number, text]}


# ---------------------------------------------------------------- schema

BAD_REQUEST = (
    "Bad request; nothing saved. The body says why: messages by field (or by cell, for a "
    "list), or a `detail`. Any request may get it: a parameter that is not what the schema "
    "says, a body that is not valid JSON or is nested too deep, or a NUL character anywhere."
)
ERROR_BODY = {"anyOf": [{"type": "object"}, {"type": "array"}]}


def document_bad_request(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: every operation may answer 400 (the NUL check
    and the parser run before any view), so the schema says so, with a JSON error body."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            response = operation["responses"].setdefault("400", {"description": BAD_REQUEST})
            response.setdefault("content", {"application/json": {"schema": ERROR_BODY}})
    return result
