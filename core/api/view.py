"""The GraphQL endpoint: authentication, limits, cost reporting, batching."""

from __future__ import annotations

import gc
import json
import logging
from functools import lru_cache

import orjson
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)

from core.exceptions import DomainError, has_nul

from .auth import authenticate_request
from .execution import FastExecutionContext
from .limits import NUL_MESSAGE, check_query, validation_rules

logger = logging.getLogger(__name__)


@lru_cache(maxsize=512)
def _parse(query: str):
    return parse(query)


@lru_cache(maxsize=512)
def _validation_errors(schema, query: str, max_depth: int, max_aliases: int) -> tuple:
    """The validation errors of a query string (none for a valid one).

    Validation depends only on the schema, the document and the limits, never
    on the variables or the caller, and costs about 2 ms even for
    ``{ __typename }`` (some 30 rules walk the document); front ends send the
    same documented operations over and over, so the result is cached like the
    parsed document. The limits are part of the key so a settings change
    (``override_settings`` in tests) is never answered from a stale entry.
    """
    rules = [*specified_rules, *validation_rules()]
    return tuple(validate(schema, _parse(query), rules, max_errors=20))


_heap_settled = False


def settle_heap() -> None:
    """Once per process, after the first GraphQL request: collect, then ``gc.freeze()``
    what survives (modules, the schema, validation caches: objects that live as long
    as the process) and raise the young generation's threshold to
    ``GRAPHQL_GC_GEN0_THRESHOLD``.

    A product page allocates some 100,000 objects; with Python's defaults the
    collector ran a full collection every 20 or so pages, scanning every object of
    the process (measured 80 ms of CPU), which set the page's p95. Frozen objects are
    never scanned nor freed, so only what the first request created for good is frozen.
    """
    global _heap_settled
    if _heap_settled:
        return
    _heap_settled = True
    threshold = settings.GRAPHQL_GC_GEN0_THRESHOLD
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(threshold, gen1, gen2)


def operation_cache(context) -> dict:
    """A dict for what one GraphQL operation computes once and reads many times
    (batch loaders, a page's facts), kept on the context (the request) and emptied
    when the operation ends, so nothing outlives it: not into the next operation of a
    batch, and not as garbage of the request's own reference cycles (Django's request
    refers to itself through its message storage), which only the cyclic collector
    frees, at some later request's expense."""
    cache = getattr(context, "_graphql_operation_cache", None)
    if cache is None:
        cache = {}
        try:
            context._graphql_operation_cache = cache
        except AttributeError:  # a context without attributes: a cache for this call only
            pass
    return cache


def after_operation(context, release) -> None:
    """Call ``release()`` when the current operation ends (after its result is built):
    for breaking reference cycles among objects only the operation used (a page's
    products and their prefetched SKUs), which refcounting then frees at once."""
    operation_cache(context).setdefault("_after_operation", []).append(release)


def end_operation(context) -> None:
    """Empty the operation's cache and run what :func:`after_operation` registered."""
    cache = getattr(context, "_graphql_operation_cache", None)
    if not cache:
        return
    context._graphql_operation_cache = {}
    for release in cache.pop("_after_operation", ()):
        try:
            release()
        except Exception:  # noqa: BLE001 - the response is built; never fail it here
            logger.exception("Releasing an operation's objects failed")
    cache.clear()


def mutation_rolls_back_whole(context) -> bool:
    """Whether the mutation being resolved runs in this view's per-operation
    transaction, which is rolled back whole when any of its mutations fails."""
    return getattr(context, "_graphql_atomic_mutation", False)


def _report_rollback(result: ExecutionResult, request) -> ExecutionResult:
    """A mutation request is one transaction: when one of its fields failed, all of it
    was rolled back. The fields that had answered success are answered ``null`` with a
    ``ROLLED_BACK`` error at their path, rather than with objects that no longer exist
    (an order number the client would trust)."""
    data = result.data
    if not data:
        return result
    failed = set(getattr(request, "_failed_mutations", ()))
    failed.update(e.path[0] for e in result.errors or () if e.path)
    errors = list(result.errors or ())
    message = _("Not saved: another mutation of this request failed, so none of it was.")
    for key, value in data.items():
        if key in failed or value is None:
            continue
        data[key] = None
        errors.append(GraphQLError(message, path=[key], extensions={"code": "ROLLED_BACK"}))
    return ExecutionResult(data=data, errors=errors or None, extensions=result.extensions)


def compact_json(value) -> str:
    """``value`` as compact JSON (UTF-8 text, not ``\\u`` escapes): orjson, some ten times
    faster than the standard encoder on a page of products (1.5 ms of CPU for 100);
    anything orjson refuses (an integer beyond 64 bits in a JSON scalar) is encoded
    by the standard library."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _error(message: str, code: str, status: int) -> HttpResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


@method_decorator(csrf_exempt, name="dispatch")
class DinghuoGraphQLView(GraphQLView):
    """graphene-django's view with the platform's rules on top.

    A JSON array body is a batch of at most ``GRAPHQL_MAX_BATCH`` operations.
    Bad credentials answer 401 with a typed error before anything runs.
    """

    def dispatch(self, request, *args, **kwargs):
        try:
            return self._dispatch(request, *args, **kwargs)
        finally:
            if not _heap_settled:
                settle_heap()

    def _dispatch(self, request, *args, **kwargs):
        try:
            authenticate_request(request)
        except DomainError as exc:
            return _error(exc.message, exc.code, 401)
        if len(request.body or b"") > settings.GRAPHQL_MAX_QUERY_BYTES:
            return _error("The request is too large.", "QUERY_TOO_LARGE", 413)
        if request.method == "POST" and request.body.lstrip()[:1] == b"[":
            return self._dispatch_batch(request)
        self.graphiql = settings.GRAPHIQL
        return super().dispatch(request, *args, **kwargs)

    def _dispatch_batch(self, request):
        try:
            entries = json.loads(request.body)
        except ValueError:
            return _error("POST body sent invalid JSON.", "INVALID_JSON", 400)
        if not entries or len(entries) > settings.GRAPHQL_MAX_BATCH:
            return _error(
                f"A batch holds 1 to {settings.GRAPHQL_MAX_BATCH} operations.",
                "BATCH_TOO_LARGE",
                400,
            )
        if not all(isinstance(e, dict) for e in entries):
            return _error("Each batch entry must be an object.", "INVALID_JSON", 400)
        self.batch = True
        try:
            responses = [self.get_response(request, entry) for entry in entries]
        except HttpError as exc:
            return _error(
                exc.response.content.decode() or "Bad request",
                "BAD_REQUEST",
                exc.response.status_code,
            )
        finally:
            self.batch = False
        body = "[" + ",".join(r[0] for r in responses) + "]"
        return HttpResponse(
            body, status=max(r[1] for r in responses), content_type="application/json"
        )

    def get_response(self, request, data, show_graphiql=False):
        request._graphql_extensions = {}
        # Per operation: a batch entry's failed mutation must not roll back the next
        # entry's transaction (it answered success; its rows would silently vanish).
        request._mutation_failed = False
        request._failed_mutations = set()
        try:
            return super().get_response(request, data, show_graphiql)
        finally:
            request._graphql_extensions = {}
            end_operation(request)

    def json_encode(self, request, d, pretty=False):
        """The response with ``extensions`` (the query's cost) after ``data``/``errors``,
        added before encoding rather than by decoding and re-encoding the result;
        compact responses encoded by :func:`compact_json`."""
        extensions = getattr(request, "_graphql_extensions", None)
        if extensions and isinstance(d, dict) and ("data" in d or "errors" in d):
            d = {**d, "extensions": extensions}
        if not (self.pretty or pretty) and not request.GET.get("pretty"):
            return compact_json(d)
        return super().json_encode(request, d, pretty)

    def execute_graphql_request(
        self, request, data, query, variables, operation_name, show_graphiql=False
    ):
        if not query:
            if show_graphiql:
                return None
            raise HttpError(HttpResponse(status=400, content=b"Must provide query string."))
        schema = self.schema.graphql_schema
        try:
            document = _parse(query)
        except GraphQLError as exc:
            return ExecutionResult(errors=[exc])
        operation = get_operation_ast(document, operation_name)
        if (
            request.method.lower() == "get"
            and operation is not None
            and operation.operation != OperationType.QUERY
        ):
            if show_graphiql:
                return None
            raise HttpError(HttpResponseNotAllowed(["POST"], "Mutations need a POST request."))
        errors = _validation_errors(
            schema, query, settings.GRAPHQL_MAX_DEPTH, settings.GRAPHQL_MAX_ALIASES
        )
        if errors:
            return ExecutionResult(errors=list(errors))
        if variables is not None and not isinstance(variables, dict):
            return ExecutionResult(
                errors=[
                    GraphQLError("Variables must be an object.", extensions={"code": "BAD_REQUEST"})
                ]
            )
        if variables and has_nul(variables):
            return ExecutionResult(
                errors=[GraphQLError(NUL_MESSAGE, extensions={"code": "INVALID_TEXT"})]
            )
        cost, page_errors = check_query(schema, document, operation, variables)
        request._graphql_extensions["cost"] = {
            "requestedQueryCost": cost,
            "maximumAvailable": settings.GRAPHQL_MAX_COST,
        }
        if cost > settings.GRAPHQL_MAX_COST:
            return ExecutionResult(
                errors=[
                    GraphQLError(
                        f"The query costs {cost}, more than the limit of {settings.GRAPHQL_MAX_COST}. "
                        "Ask for fewer items per page or fewer fields.",
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost},
                    )
                ]
            )
        if page_errors:
            return ExecutionResult(errors=page_errors)
        options = {
            "root_value": self.get_root_value(request),
            "context_value": self.get_context(request),
            "variable_values": variables,
            "operation_name": operation_name,
            # None rather than an empty list: graphql-core wraps every resolver of a
            # (even empty) middleware list in a manager call.
            "middleware": self.get_middleware(request) or None,
            "execution_context_class": FastExecutionContext,
        }
        try:
            if operation is not None and operation.operation == OperationType.MUTATION:
                with transaction.atomic():
                    # Read by mutations (mutation_rolls_back_whole): any failure below
                    # rolls this whole transaction back.
                    request._graphql_atomic_mutation = True
                    try:
                        result = execute(schema, document, **options)
                    finally:
                        request._graphql_atomic_mutation = False
                    failed = bool(result.errors) or getattr(request, "_mutation_failed", False)
                    if failed:
                        transaction.set_rollback(True)
                return _report_rollback(result, request) if failed else result
            return execute(schema, document, **options)
        except Exception as exc:  # noqa: BLE001 - turned into a GraphQL error, not a 500
            return ExecutionResult(errors=[GraphQLError(str(exc), original_error=exc)])

    @staticmethod
    def format_error(error):
        """Typed errors keep their message and code; anything unexpected is logged
        and reported as ``INTERNAL_ERROR`` without its internals."""
        original = getattr(error, "original_error", None)
        if isinstance(original, DomainError):
            return {
                "message": original.message,
                "path": getattr(error, "path", None),
                "extensions": {
                    "code": original.code,
                    **({"field": original.field} if original.field else {}),
                },
            }
        if original is not None and not isinstance(original, GraphQLError) and not settings.DEBUG:
            logger.error("GraphQL resolver failed", exc_info=original)
            return {
                "message": "Internal error.",
                "path": getattr(error, "path", None),
                "extensions": {"code": "INTERNAL_ERROR"},
            }
        return GraphQLView.format_error(error)
