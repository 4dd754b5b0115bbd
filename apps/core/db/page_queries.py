"""The SQL of a page query compiled once per shape, not once per request.

Turning a queryset into SQL (``SQLCompiler.as_sql``: the select list, the joins, the order, the
limit) costs as much CPU as fetching and building its rows on the hot list endpoints (the
provider directory, the inbox), and for a given view it comes out the same on every request
but for the values in the WHERE clause: a recipient id, a cursor position.

``page_rows(queryset)`` compiles only the WHERE clause of each request. The rest of the query
is keyed by its structure (model, annotations, joins, order, limits) together with that WHERE
text, so two querysets share an entry only when their SQL is the same text; an entry is kept
only when every parameter of the whole statement is a parameter of the WHERE clause, in the
same order, so that the request's WHERE parameters are the statement's. Rows are built as
Django's ``ModelIterable`` builds them (the cached compiler's converters, ``Model.from_db``,
the annotations set as attributes). Querysets this does not cover (related objects loaded
with them, values(), aggregates, DISTINCT, extra(), unions, locking, deferred fields) go
through the ORM unchanged.

Django has no compiled-query cache of its own, and the result caches that exist
(django-cachalot and the like) would cache rows, which these pages must not: they are exact
at every request.
"""

import json
import re

import orjson
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, router
from django.db.models import JSONField, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.json import KeyTransform
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.db.models.sql.datastructures import Join

# Distinct shapes are few (orderings x filters present x cursor or not x page size); the bound
# only matters if a caller builds shapes from unbounded input. Full → start again.
MAX_SHAPES = 512

_compiled: dict[tuple, tuple | None] = {}
_UNSEEN = object()


def _model_rows(queryset: QuerySet) -> bool:
    # What both compiled forms need: rows built as model instances of every column, nothing the
    # ORM adds around the statement (prefetches, known related objects, locking, extra()).
    query = queryset.query
    return (
        queryset._iterable_class is ModelIterable
        and not queryset._known_related_objects
        and not queryset._prefetch_related_lookups
        and query.default_cols
        and not query.extra
        and not query.extra_select
        and not query.combinator
        and not query.distinct
        and not query.select_for_update
        and query.deferred_loading == (frozenset(), True)
        and not query.where.contains_aggregate
    )


def _cacheable(queryset: QuerySet) -> bool:
    query = queryset.query
    return (
        _model_rows(queryset)
        and not query.select_related
        and not query.select
        and not query.values_select
        and not query.extra_order_by
        and query.group_by is None
        and not any(a.contains_aggregate for a in query.annotations.values())
    )


def _remember(cache: dict, key, entry):
    # Bounded by MAX_SHAPES. An entry of None (a shape the ORM answers) is remembered too, so
    # it is not compiled twice.
    if len(cache) >= MAX_SHAPES:
        cache.clear()
    cache[key] = entry
    return entry


def _fetchall(db: str, sql: str, params) -> list:
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _prepared(field, value, connection):
    # A lookup's value as the ORM sends it (a UUID in the backend's form, a text key parsed).
    return field.get_db_prep_value(field.to_python(value), connection)


def _shape(query, db: str, where_sql: str) -> tuple:
    joins = tuple(
        (
            alias,
            join.table_name,
            join.join_type if isinstance(join, Join) else None,
            join.parent_alias if isinstance(join, Join) else None,
            query.alias_refcount[alias],
        )
        for alias, join in query.alias_map.items()
    )
    return (
        db,
        query.model,
        tuple(query.order_by),
        query.default_ordering,
        query.standard_ordering,
        query.low_mark,
        query.high_mark,
        tuple((name, repr(annotation)) for name, annotation in query.annotation_select.items()),
        joins,
        where_sql,
    )


# 19 digits in a row may be an integer past 64 bits, which orjson reads as a float.
_LONG_NUMBER = re.compile(r"\d{19}")


def _json_from_db(value, expression, connection):
    # JSONField.from_db_value with orjson, which parses the same text to the same values several
    # times faster; what it reads differently (integers past 64 bits) or refuses (lone
    # surrogates, numbers out of a float's range) is parsed by the stdlib as before.
    if value is None or (isinstance(expression, KeyTransform) and not isinstance(value, str)):
        return value
    try:
        if _LONG_NUMBER.search(value) is None:
            return orjson.loads(value)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _fast_converters(converters: dict) -> dict:
    fast = {}
    for position, (functions, expression) in converters.items():
        functions = [
            _json_from_db
            if getattr(function, "__func__", None) is JSONField.from_db_value
            and type(function.__self__) is JSONField
            and function.__self__.decoder is None
            else function
            for function in functions
        ]
        fast[position] = (functions, expression)
    return fast


def _plain_attribute(model, attname: str) -> bool:
    return type(getattr(model, attname, None)) in (DeferredAttribute, ForeignKeyDeferredAttribute)


class _RowBuilder:
    """ModelIterable's loop for a queryset without related objects (see _cacheable), with what
    it works out per query (the columns' converters, the model's field names) worked out once.

    An instance is ``Model.from_db``'s, built without ``Model.__init__``'s per-field loop when
    that loop would only set attributes: every concrete field selected, each a plain attribute
    (no descriptor that acts on assignment), and no ``pre_init``/``post_init`` receiver for the
    model. Otherwise ``from_db`` builds it.
    """

    def __init__(self, compiler, *, db: str | None = None) -> None:
        select, klass_info = compiler.select, compiler.klass_info
        # The objects joined by select_related (row_by_pk only: page_rows keeps no such shape).
        self.related = get_related_populators(klass_info, select, db) if db else []
        self.model = model = klass_info["model"]
        self.start, self.end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        self.annotations = tuple(compiler.annotation_col_map.items())
        self.compiler = compiler
        self.converters = _fast_converters(compiler.get_converters([s[0] for s in select[0 : compiler.col_count]]))
        self.direct = self.init_list == [f.attname for f in model._meta.concrete_fields] and all(
            _plain_attribute(model, name) for name in self.init_list
        )

    def build(self, db: str, rows: list) -> list:
        if self.converters:
            rows = list(self.compiler.apply_converters(map(list, rows), self.converters))
        model, init_list, start, end, annotations = self.model, self.init_list, self.start, self.end, self.annotations
        direct = self.direct and not (pre_init.has_listeners(model) or post_init.has_listeners(model))
        new, from_db = model.__new__, model.from_db
        objects = []
        for row in rows:
            if direct:
                obj = new(model)
                obj.__dict__.update(zip(init_list, row[start:end], strict=True))
                state = obj._state = ModelState()
                state.adding, state.db = False, db
            else:
                obj = from_db(db, init_list, row[start:end])
            for populator in self.related:
                populator.populate(row, obj)
            for name, position in annotations:
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


def page_rows(queryset: QuerySet) -> list:
    """``list(queryset)``, with the statement compiled once per shape (see the module)."""
    if not _cacheable(queryset):
        return list(queryset)
    db = queryset.db
    query = queryset.query
    compiler = query.get_compiler(using=db)
    try:
        where_sql, where_params = compiler.compile(query.where)
    except FullResultSet:
        where_sql, where_params = "", ()
    except EmptyResultSet:
        return []
    key = _shape(query, db, where_sql)
    entry = _compiled.get(key, _UNSEEN)
    if entry is _UNSEEN:
        sql, params = compiler.as_sql()
        kept = tuple(params) == tuple(where_params) and where_sql in sql and compiler.klass_info is not None
        entry = _remember(_compiled, key, (sql, _RowBuilder(compiler)) if kept else None)
    if entry is None:
        return list(queryset)
    sql, builder = entry
    return builder.build(db, _fetchall(db, sql, where_params))


_by_pk: dict[tuple, tuple | None] = {}


def _plain_base(queryset: QuerySet) -> bool:
    # What a key lookup may start from: the model's rows, with related rows joined at most and
    # filtered by conditions without parameters of their own (checked when compiled).
    query = queryset.query
    return (
        _model_rows(queryset)
        and not query.annotations
        and not query.order_by
        and query.low_mark == 0
        and query.high_mark is None
    )


def row_by_pk(base, pk, *, using: str | None = None):
    """``base.filter(pk=pk)``'s one row without the ORM's per-call work, or None.

    ``base`` is a model or a queryset of its rows, ``select_related`` allowed (a user with its
    profiles), filtered or not by conditions that take no parameter (``deleted_at IS NULL``).
    A lookup by primary key is one statement whose text never changes: it is compiled at the
    first call (per database, model, joins and filters) and only its one parameter is prepared
    after that, the way the ORM prepares it (``get_db_prep_value``: a UUID becomes
    the backend's form). Rows come out as the ORM builds them (the compiler's converters,
    ``Model.from_db``, the related objects' populators). Any other queryset goes through the
    ORM.
    """
    queryset = base if isinstance(base, QuerySet) else base._default_manager.all()
    model = queryset.model
    db = using or queryset._db or router.db_for_read(model)
    param = _prepared(model._meta.pk, pk, connections[db])
    query = queryset.query
    # The filters' text tells two bases apart (values included): their statements differ.
    key = (db, model, repr(query.select_related), str(query.where) if query.where else "")
    entry = _by_pk.get(key, _UNSEEN)
    if entry is _UNSEEN:
        entry = None
        if _plain_base(queryset):
            compiler = queryset.using(db).filter(pk=pk).query.get_compiler(using=db)
            sql, params = compiler.as_sql()
            # Anything but a plain one-parameter key lookup (a manager that filters): the ORM's way.
            if list(params) == [param]:
                entry = (sql, _RowBuilder(compiler, db=db))
        _remember(_by_pk, key, entry)
    if entry is None:
        return next(iter(queryset.using(db).filter(pk=pk)), None)
    sql, builder = entry
    rows = _fetchall(db, sql, [param])
    return builder.build(db, rows)[0] if rows else None


_values_by: dict[tuple, tuple | None] = {}


def values_by(model, column: str, *, key: str, value, using: str | None = None) -> list:
    """``list(model.objects.filter(<key>=value).values_list(column, flat=True))``, its statement
    compiled once per (database, model, column, key) and only the key's value prepared per call
    (as the ORM prepares it), the column's values converted as the ORM converts them."""
    db = using or router.db_for_read(model)
    param = _prepared(model._meta.get_field(key), value, connections[db])
    queryset = model._default_manager.using(db)
    shape = (db, model, column, key)
    entry = _values_by.get(shape, _UNSEEN)
    if entry is _UNSEEN:
        compiler = queryset.filter(**{key: value}).values_list(column, flat=True).query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        # A manager that filters adds parameters of its own: the ORM's way then.
        converters = compiler.get_converters([s[0] for s in compiler.select[0 : compiler.col_count]])
        entry = _remember(_values_by, shape, (sql, compiler, converters) if list(params) == [param] else None)
    if entry is None:
        return list(queryset.filter(**{key: value}).values_list(column, flat=True))
    sql, compiler, converters = entry
    rows = _fetchall(db, sql, [param])
    if converters:
        rows = compiler.apply_converters(map(list, rows), converters)
    return [row[0] for row in rows]
