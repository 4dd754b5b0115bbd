"""Base classes for the serializers that read client input.

DRF is lenient about types: a ``CharField`` takes ``5`` and makes it ``"5"``, an
``IntegerField`` takes ``"5"`` and ``5.0``, a ``BooleanField`` takes ``"yes"`` and ``1``, a
``UUIDField`` takes an integer. The API documents JSON types (the OpenAPI document says
``string``, ``integer``, ``boolean``), so a body whose value has another JSON type is refused
with the field's ``invalid`` (or ``invalid_choice``) code instead of being coerced. Query
strings have no JSON types; there the catch is DRF's HTML-form rule that turns an empty
``?provider=`` into "not given", which the document's ``format: uuid`` does not allow.
"""

import datetime
from collections.abc import Mapping
from functools import cached_property

from django.http import QueryDict
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty

_STRING_FIELDS = (serializers.CharField, serializers.UUIDField, serializers.DateTimeField, serializers.DateField)


def _type_error(field: serializers.Field, value) -> list[ErrorDetail] | dict | None:
    """The error for ``value`` if its JSON type is not the one ``field`` documents."""
    if value is None:
        return None  # the field's own allow_null decides
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return None  # the field says not_a_list
        errors = {i: e for i, item in enumerate(value) if (e := _type_error(field.child, item)) is not None}
        return errors or None
    if isinstance(field, serializers.BooleanField):
        ok, message = isinstance(value, bool), "Must be a JSON boolean."
    elif isinstance(field, serializers.IntegerField):
        ok, message = isinstance(value, int) and not isinstance(value, bool), "Must be a JSON integer."
    elif isinstance(field, serializers.FloatField):
        ok, message = isinstance(value, int | float) and not isinstance(value, bool), "Must be a JSON number."
    elif isinstance(field, serializers.ChoiceField):
        if not all(isinstance(key, str) for key in field.choices):
            return None
        if isinstance(value, str):
            return None
        return [ErrorDetail(field.error_messages["invalid_choice"].format(input=value), code="invalid_choice")]
    elif isinstance(field, _STRING_FIELDS):
        ok, message = isinstance(value, str), "Must be a JSON string."
    else:
        return None
    return None if ok else [ErrorDetail(message, code="invalid")]


# No docstrings on these two bases: drf-spectacular would show them as the description of
# every serializer built on them.


class JSONInput(serializers.Serializer):
    # A request body: every value must have the JSON type its field documents.

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and not isinstance(data, QueryDict):
            errors = {}
            for field in self._writable_fields:
                value = data.get(field.field_name, empty)
                if value is not empty and (error := _type_error(field, value)) is not None:
                    errors[field.field_name] = error
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class QueryInput(serializers.Serializer):
    # Query parameters: each read as the one string it is (the last one if repeated), so an
    # empty value is validated like any other instead of counting as "not given".

    def to_internal_value(self, data):
        if isinstance(data, QueryDict):
            data = {key: data[key] for key in data}
        return super().to_internal_value(data)


def iso_datetime(value: datetime.datetime | None, tz: datetime.tzinfo | None = None) -> str | None:
    """What DRF's ``DateTimeField`` writes with its default ISO 8601 format, without the field.

    The value in ``tz`` (default: the current time zone), "+00:00" spelled "Z". For the
    hand-written representations of hot list endpoints, whose tests hold them equal to DRF's;
    a page of rows passes the zone it looked up once (``CurrentTimeZone``).
    """
    if value is None:
        return None
    text = timezone.localtime(value, tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class CurrentTimeZone:
    # ``time_zone``: the request's current time zone, looked up once per serializer. The lookup
    # reads a context-local (asgiref), which cost more than the conversion itself when a page of
    # rows made it for every datetime; the child serializer of a ``many=True`` list is one
    # instance for the whole page. (A comment, not a docstring: drf-spectacular would take a
    # docstring for the description of every output serializer that mixes this in.)

    @cached_property
    def time_zone(self) -> datetime.tzinfo:
        return timezone.get_current_timezone()
