"""``python -m bench plugins [--quick]``: order placement throughput with every
installed industry plugin enabled, as a share of the same run with none.

The same tenant, catalogue, clients and uvicorn server for both halves; only
``Tenant.modules`` changes between them (the server reads it per request), so
the difference is what the plugins' order hooks cost. The plugins run on a
catalogue without their own records (no batches, fitments or parameters), so
this measures the hooks' overhead on ordinary orders.

Before each round a probe order checks that the server runs the plugins exactly
when they are enabled (12 single units of a SKU the food plugin sells by the
case only: refused ``CASE_ONLY`` with the plugins, accepted without), so a
routing or settings fault that silently skipped the hooks cannot pass for a
perfect ratio.

Same load for both halves: the run alternates short rounds of each half in an
A-B-B-A pattern (``--rounds`` blocks; by default 8 blocks of 4-second rounds,
short enough to follow a shared machine's changing load), so a change in the
machine's load while the bench runs (other processes, tables growing with the
orders placed) falls on both halves alike; each half's figure is its orders over its time, summed
over its rounds. Each round starts after a short warm-up in its configuration
(not counted). The ratio's ``spread`` is the lowest and highest ratio of the
A-B-B-A blocks: a wide spread means the machine was too busy for a stable
figure.

Each half also reports the CPU its orders cost (``cpu_ms_per_order``: the web
server's processes, ``web_cpu_ms``, and the bench database's PostgreSQL
backends, ``postgres_cpu_ms``, over the measured windows), and the ratio its ``cpu_ratio`` (no plugins ÷ all plugins,
the throughput ratio the CPU alone predicts on a CPU-bound machine). CPU time
hardly depends on what else the machine runs, so it shows the plugins' cost
when other processes make the throughput figures noisy.

``hook_dispatch_ns`` is the cost of one order-hook call through
``TenantHooks`` (the manager's per-tenant subset) on a no-op plugin, against
``pluggy_hook_call_ns`` (pluggy's own ``pm.hook.<name>(...)``) and a plain
Python call, measured in-process without the database.
"""

from __future__ import annotations

import argparse
import time

from bench import _benchdb
from bench.common import emit, log, percentile, setup_django, start_uvicorn

BENCH = "plugins"
SUBDOMAIN = "bench-plugins"


def _dispatch_costs(repeat: int) -> dict[str, float]:
    """Nanoseconds per call: the manager's hook dispatch, pluggy's, and a plain call."""
    from plugins import hookimpl
    from plugins.manager import DinghuoPluginManager
    from plugins.types import OrderContext, OrderLine

    class Noop:
        @hookimpl
        def validate_order_lines(self, context, lines):
            return []

    manager = DinghuoPluginManager()
    noop = Noop()
    manager.register(noop, "noop")
    hooks = manager.hooks_for(["noop"])
    context = OrderContext(tenant=None, dealer=None)
    lines = [OrderLine(index=0, sku=None, quantity=1)]

    def timed(call) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter_ns()
            for _ in range(repeat):
                call()
            best = min(best, (time.perf_counter_ns() - started) / repeat)
        return best

    return {
        "hook_dispatch_ns": timed(lambda: hooks.validate_order_lines(context, lines)),
        "pluggy_hook_call_ns": timed(
            lambda: manager.pm.hook.validate_order_lines(context=context, lines=lines)
        ),
        "plain_call_ns": timed(lambda: noop.validate_order_lines(context, lines)),
    }


PROBE_SKU = "BENCH-PROBE"


def _probe_sku() -> None:
    """A SKU the food plugin sells by the case only (never in the measured orders): a
    single-unit line of it is refused CASE_ONLY when the plugins run, accepted when not."""
    from decimal import Decimal

    from core.catalog.models import Product, Sku, SkuUnit
    from core.inventory.models import Stock, Warehouse
    from core.pricing.models import PriceList, PriceListItem
    from plugins.food.services import set_case_policy

    product = Product.objects.create(name="Bench probe", status="active")
    sku = Sku.objects.create(product=product, code=PROBE_SKU, name="Bench probe")
    SkuUnit.objects.get_or_create(sku=sku, code=sku.base_unit, defaults={"factor": 1})
    SkuUnit.objects.create(sku=sku, code="case", factor=12)
    base = PriceList.objects.get(code="BASE")
    PriceListItem.objects.create(
        price_list=base, sku=sku, unit_code=sku.base_unit, min_quantity=1, unit_price=Decimal("1")
    )
    for warehouse in Warehouse.objects.all():
        Stock.objects.create(sku=sku, warehouse=warehouse, on_hand=10**9)
    set_case_policy(sku=sku, policy="case_only")


def _check_plugins_run(client, token: str, enabled: bool, tag: str) -> None:
    """Refuse to report a figure unless the server runs the plugins exactly when enabled."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30)
    try:
        status, body = client.place(
            conn, token, [{"sku": PROBE_SKU, "quantity": 12, "unit": "each"}], f"probe-{tag}"
        )
    finally:
        conn.close()
    payload = (body.get("data") or {}).get("placeOrder") or {}
    codes = [e.get("code") for e in payload.get("errors") or []]
    ran = "CASE_ONLY" in codes
    if ran != enabled or (not enabled and not payload.get("order")):
        raise SystemExit(
            f"bench plugins: the server {'did not run' if enabled else 'ran'} the plugins' "
            f"order hooks with them {'enabled' if enabled else 'disabled'} "
            f"(HTTP {status}, {body}); no figure reported."
        )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench plugins")
    parser.add_argument("--quick", action="store_true", help="a few seconds per half")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=None, help="A-B-B-A blocks (default 8; 1 quick)"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="per round (default 4; 3 quick)"
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 8)
    seconds = args.seconds or (3.0 if args.quick else 4.0)

    _benchdb.use_bench_database()
    setup_django()
    from django.db import connection, connections

    from bench.graphql_overhead import _wait_ready
    from bench.orders import (
        Client,
        _build_catalogue,
        _closed_loop,
        _pg_backend_cpu,
        _tokens,
        _tree_cpu,
    )
    from core.testing.net import free_port
    from plugins.services import available_plugins, set_enabled_plugins
    from tenants.models import Tenant
    from tenants.services import provision_tenant, schema_for_subdomain, tenant_host

    for metric, value in _dispatch_costs(20000 if args.quick else 100000).items():
        emit(BENCH, metric, value, "ns", hooks=1, plugins=["noop"])

    log("bench plugins: preparing the bench database…")
    _benchdb.prepare()
    _benchdb.drop_tenants(prefix=schema_for_subdomain(SUBDOMAIN))
    tenant = provision_tenant(name="Bench plugins", subdomain=SUBDOMAIN, status="active")
    tenant = Tenant.objects.get(pk=tenant.pk)
    connection.set_tenant(tenant)
    data = _build_catalogue(n_skus=500, n_dealers=60)
    _probe_sku()
    tokens = _tokens(data["buyers"])
    skus = data["skus"]
    connection.set_schema_to_public()
    names = sorted(info.name for info in available_plugins())
    connections.close_all()

    def five_lines(rnd):
        return [{"sku": code, "quantity": rnd.randint(1, 12)} for code in rnd.sample(skus, 5)]

    configs = {"none": [], "all": names}
    orders = {"none": 0.0, "all": 0.0}
    elapsed = {"none": 0.0, "all": 0.0}
    latencies: dict[str, list[float]] = {"none": [], "all": []}
    errors: dict[str, dict[str, int]] = {"none": {}, "all": {}}
    web_cpu = {"none": 0.0, "all": 0.0}
    pg_cpu = {"none": 0.0, "all": 0.0}
    dbname = connection.settings_dict["NAME"]
    pair_ratios: list[float] = []
    port = free_port()
    server = start_uvicorn(port, args.workers)
    host = tenant_host(SUBDOMAIN)
    try:
        _wait_ready(server, port, host)
        client = Client(port, host)
        _closed_loop(client, tokens, five_lines, clients=2, seconds=1.0, tag="warm")
        n = 0
        for block in range(rounds):
            block_rates: dict[str, list[float]] = {"none": [], "all": []}
            for label in (
                ("none", "all", "all", "none") if block % 2 == 0 else ("all", "none", "none", "all")
            ):
                n += 1
                set_enabled_plugins(tenant=Tenant.objects.get(pk=tenant.pk), names=configs[label])
                connections.close_all()
                log(
                    f"bench plugins: round {n}, {label} ({', '.join(configs[label]) or 'no plugins'})…"
                )
                _check_plugins_run(client, tokens[0], "food" in configs[label], tag=f"r{n}")
                _closed_loop(
                    client, tokens, five_lines, clients=args.clients, seconds=0.5, tag=f"w{n}"
                )
                web0, pg0 = _tree_cpu(server.pid), _pg_backend_cpu(dbname)
                rate, took, errs = _closed_loop(
                    client, tokens, five_lines, clients=args.clients, seconds=seconds, tag=f"p{n}"
                )
                web_cpu[label] += _tree_cpu(server.pid) - web0
                pg_cpu[label] += _pg_backend_cpu(dbname) - pg0
                orders[label] += len(took)
                elapsed[label] += len(took) / rate if rate else seconds
                latencies[label] += took
                block_rates[label].append(rate)
                for code, count in errs.items():
                    errors[label][code] = errors[label].get(code, 0) + count
            if all(block_rates.values()):
                none_rate = sum(block_rates["none"]) / len(block_rates["none"])
                all_rate = sum(block_rates["all"]) / len(block_rates["all"])
                pair_ratios.append(all_rate / none_rate if none_rate else 0.0)
    finally:
        server.terminate()
        server.wait(timeout=20)
    rates = {label: orders[label] / elapsed[label] if elapsed[label] else 0.0 for label in configs}
    web_ms = {label: web_cpu[label] * 1000 / max(orders[label], 1) for label in configs}
    pg_ms = {label: pg_cpu[label] * 1000 / max(orders[label], 1) for label in configs}
    cpu_ms = {label: web_ms[label] + pg_ms[label] for label in configs}
    for label in ("none", "all"):
        emit(
            BENCH,
            f"orders_per_s_{'no' if label == 'none' else 'all'}_plugins",
            rates[label],
            "orders/s",
            plugins=configs[label],
            clients=args.clients,
            rounds=2 * rounds,
            seconds_per_round=seconds,
            orders=int(orders[label]),
            p95_ms=round(percentile(latencies[label], 95) * 1000, 1),
            cpu_ms_per_order=round(cpu_ms[label], 2),
            web_cpu_ms=round(web_ms[label], 2),
            postgres_cpu_ms=round(pg_ms[label], 2),
            errors=errors[label],
        )
    ratio = rates["all"] / rates["none"] if rates["none"] else 0.0
    emit(
        BENCH,
        "plugins_throughput_ratio",
        ratio,
        "ratio",
        baseline="orders_per_s_no_plugins",
        target=">= 0.85",
        plugins=names,
        pattern="ABBA",
        rounds=2 * rounds,
        spread=[round(min(pair_ratios), 3), round(max(pair_ratios), 3)] if pair_ratios else [],
        cpu_ratio=round(cpu_ms["none"] / cpu_ms["all"], 3) if cpu_ms["all"] else None,
    )
    connections.close_all()
    _benchdb.drop_tenants(prefix=schema_for_subdomain(SUBDOMAIN))
