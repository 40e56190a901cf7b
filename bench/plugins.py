"""``python -m bench plugins [--quick]``: order placement throughput with every
installed industry plugin enabled, as a share of the same run with none.

The same tenant, catalogue, clients and uvicorn server for both halves; only
``Tenant.modules`` changes between them (the server reads it per request), so
the difference is what the plugins' order hooks cost. The plugins run on a
catalogue without their own records (no batches, fitments or parameters), so
this measures the hooks' overhead on ordinary orders.
"""

from __future__ import annotations

import argparse

from bench import _benchdb
from bench.common import emit, log, percentile, setup_django

BENCH = "plugins"
SUBDOMAIN = "bench-plugins"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench plugins")
    parser.add_argument("--quick", action="store_true", help="a few seconds per half")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    seconds = 5.0 if args.quick else 20.0

    _benchdb.use_bench_database()
    setup_django()
    from django.db import connection, connections

    from bench.graphql_overhead import _free_port, _wait_ready
    from bench.orders import Client, _build_catalogue, _closed_loop, _start_server, _tokens
    from plugins.services import available_plugins, set_enabled_plugins
    from tenants.models import Tenant
    from tenants.services import provision_tenant, schema_for_subdomain, tenant_host

    log("bench plugins: preparing the bench database…")
    _benchdb.prepare()
    _benchdb.drop_tenants(prefix=schema_for_subdomain(SUBDOMAIN))
    tenant = provision_tenant(name="Bench plugins", subdomain=SUBDOMAIN, status="active")
    tenant = Tenant.objects.get(pk=tenant.pk)
    connection.set_tenant(tenant)
    data = _build_catalogue(n_skus=500, n_dealers=60)
    tokens = _tokens(data["buyers"])
    skus = data["skus"]
    connection.set_schema_to_public()
    names = sorted(info.name for info in available_plugins())
    connections.close_all()

    def five_lines(rnd):
        return [{"sku": code, "quantity": rnd.randint(1, 12)} for code in rnd.sample(skus, 5)]

    port = _free_port()
    server = _start_server(port, args.workers)
    host = tenant_host(SUBDOMAIN)
    rates = {}
    try:
        _wait_ready(server, port, host)
        client = Client(port, host)
        _closed_loop(client, tokens, five_lines, clients=2, seconds=1.0, tag="warm")
        for label, modules in (("none", []), ("all", names)):
            set_enabled_plugins(tenant=Tenant.objects.get(pk=tenant.pk), names=modules)
            connections.close_all()
            log(f"bench plugins: {label} ({', '.join(modules) or 'no plugins'})…")
            rate, latencies, errors = _closed_loop(client, tokens, five_lines, clients=args.clients,
                                                   seconds=seconds, tag=f"p-{label}")
            rates[label] = rate
            emit(BENCH, f"orders_per_s_{'no' if label == 'none' else 'all'}_plugins", rate, "orders/s",
                 plugins=modules, clients=args.clients, p95_ms=round(percentile(latencies, 95) * 1000, 1),
                 errors=errors)
    finally:
        server.terminate()
        server.wait(timeout=20)
    emit(BENCH, "plugins_throughput_ratio", rates["all"] / rates["none"] if rates.get("none") else 0.0, "ratio",
         baseline="orders_per_s_no_plugins", target=">= 0.85", plugins=names)
    connections.close_all()
    _benchdb.drop_tenants(prefix=schema_for_subdomain(SUBDOMAIN))
