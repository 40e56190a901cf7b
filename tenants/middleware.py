"""Route each request to its tenant, and refuse every request to a suspended tenant.

:class:`TenantRoutingMiddleware` replaces django-tenants' ``TenantMainMiddleware``
lookup (``SET search_path`` to public, the domain row, ``SET search_path`` to the
tenant: three statements) with one statement that reads the domain's tenant and
sets the session's ``search_path`` to it (``set_config``) in the same round
trip, run as a prepared statement of the connection (:func:`core.sql.execute_prepared`).
No tenant is cached between requests (only the statement's text and the columns'
converters are), so a suspension, a domain change or a deletion takes effect on the
next request in every process.
"""

from __future__ import annotations

from functools import lru_cache

from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, connection
from django.http import HttpResponse, HttpResponseNotFound, JsonResponse
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, quote_schema_name

from core.sql import execute_prepared

from .models import Domain, Tenant


def _search_path_value(schema_name: str) -> str:
    """The ``search_path`` django-tenants sets for ``schema_name`` (public included)."""
    from django_tenants.postgresql_backend.base import EXTRA_SEARCH_PATHS

    return _search_path_of(schema_name, get_public_schema_name(), tuple(EXTRA_SEARCH_PATHS))


@lru_cache(maxsize=256)
def _search_path_of(schema_name: str, public: str, extra: tuple[str, ...]) -> str:
    paths = [public] if schema_name == public else [schema_name, public]
    return ",".join(quote_schema_name(p) for p in [*paths, *extra])


def _routing_sql() -> tuple[str, tuple]:
    from django_tenants.postgresql_backend.base import EXTRA_SEARCH_PATHS

    return _routing_sql_of(get_public_schema_name(), tuple(EXTRA_SEARCH_PATHS), connection.vendor)


@lru_cache(maxsize=16)
def _routing_sql_of(public: str, extra: tuple[str, ...], vendor: str) -> tuple[str, tuple]:
    """The routing statement and its first parameters, built once per public schema
    name, extra search paths and database vendor (the tables and columns never change)."""
    q = connection.ops.quote_name
    tenant_t = f"{quote_schema_name(public)}.{q(Tenant._meta.db_table)}"
    domain_t = f"{quote_schema_name(public)}.{q(Domain._meta.db_table)}"
    columns = ", ".join(f"t.{q(f.column)}" for f in Tenant._meta.concrete_fields)
    public_path = _search_path_of(public, public, extra)
    # The tenant's path is its quoted schema name before the public path, quoted as
    # django_tenants.utils.quote_schema_name does (embedded quotes doubled).
    sql = (
        "SELECT set_config('search_path', CASE WHEN t.schema_name = %s THEN %s "
        "ELSE '\"' || replace(t.schema_name, '\"', '\"\"') || '\",' || %s END, false), "
        f"{columns} FROM {domain_t} d JOIN {tenant_t} t ON t.id = d.tenant_id WHERE d.domain = %s"
    )
    return sql, (public, public_path, public_path)


def tenant_for_host(hostname: str) -> Tenant | None:
    """The tenant routed to ``hostname``, with the connection's ``search_path`` set to
    its schema by the same statement; None (connection on public) for an unknown host.

    One statement, visible to Django's query counting. django-tenants is told the
    path is set (``search_path_set_schemas``) only when the value set equals the
    one it would have set; otherwise it issues its own ``SET`` before the next query.
    """
    sql, params = _routing_sql()
    # Opening the cursor must not issue django-tenants' own SET first: the tables are
    # schema-qualified, so the lookup works whatever the path is.
    guard = hasattr(connection, "_setting_search_path")
    if guard:
        connection._setting_search_path = True
    try:
        rows = execute_prepared(connection, sql, [*params, hostname])
    except DatabaseError:
        connection.search_path_set_schemas = None
        raise
    finally:
        if guard:
            connection._setting_search_path = False
    if not rows:
        connection.set_schema_to_public()  # the next query re-issues SET for public
        return None
    row = rows[0]
    value = row[0]
    attnames, converters = _tenant_columns()
    tenant = Tenant.from_db(connection.alias, attnames, _converted(converters, row[1:]))
    connection.set_tenant(tenant)  # forgets the path it knew: the SET below is the truth
    if value == _search_path_value(tenant.schema_name):
        connection.search_path_set_schemas = connection._get_cursor_search_paths()
    return tenant


_TENANT_COLUMNS: dict[str, tuple[list[str], list[tuple]]] = {}


def _tenant_columns() -> tuple[list[str], list[tuple]]:
    """The tenant's attribute names and, per column, its database converters (with the
    column they are called with), as the query compiler finds them: the same for every
    request of a database alias, so found once per alias (as the token check's user
    look-up is compiled once, core.accounts.services)."""
    columns = _TENANT_COLUMNS.get(connection.alias)
    if columns is None:
        table = Tenant._meta.db_table
        fields = Tenant._meta.concrete_fields
        converters = []
        for field in fields:
            column = field.get_col(table)
            funcs = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            converters.append((tuple(funcs), column))
        columns = _TENANT_COLUMNS[connection.alias] = ([f.attname for f in fields], converters)
    return columns


def _converted(converters, values) -> list:
    """Raw column values as the ORM gives them: each field's database converters
    applied (``modules``, a JSON field, arrives as text and becomes a list), as the
    query compiler does for a queryset."""
    out = []
    for (funcs, column), value in zip(converters, values, strict=True):
        for convert in funcs:
            value = convert(value, column, connection)
        out.append(value)
    return out


class TenantRoutingMiddleware(TenantMainMiddleware):
    """django-tenants' routing in one statement (see the module docstring)."""

    def process_request(self, request):
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseNotFound()
        tenant = tenant_for_host(hostname)
        if tenant is None:
            return self.no_tenant_found(request, hostname)
        tenant.domain_url = hostname
        request.tenant = tenant
        self.setup_url_routing(request)
        return None


class TenantStatusMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is not None and getattr(tenant, "is_suspended", False):
            message = _("This account is suspended. Contact the platform operator to resume it.")
            if request.path.startswith("/graphql") or "application/json" in request.headers.get(
                "Accept", ""
            ):
                return JsonResponse(
                    {"errors": [{"message": message, "extensions": {"code": "TENANT_SUSPENDED"}}]},
                    status=403,
                )
            return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
