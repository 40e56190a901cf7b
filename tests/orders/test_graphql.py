"""Orders over GraphQL: typed errors, channels, scoping (two dealers, two tenants), SQL counts."""

import base64
import io

import pytest
from graphql_relay import to_global_id
from openpyxl import Workbook

from core.orders.models import Order
from core.testing.factories import UserFactory
from core.testing.pytest_plugin import gql, token_for

from .conftest import build_shop

PLACE = """mutation($lines: [OrderLineInput!]!, $key: String!, $dealerId: ID, $expected: Decimal, $channel: Channel) {
  placeOrder(lines: $lines, idempotencyKey: $key, dealerId: $dealerId, expectedTotal: $expected, channel: $channel) {
    replayed order { id number status channel total lines { skuCode quantity } }
    errors { field code message available suggestion total } } }"""


def _place(client, token, lines, key="g1", **extra):
    return gql(client, PLACE, {"lines": lines, "key": key, **extra}, token=token)


def test_place_order_and_replay(shop, tenant_client):
    token = token_for(shop.buyer)
    _, body = _place(tenant_client, token, [{"sku": "SKU0", "quantity": 2}], channel="MOBILE")
    payload = body["data"]["placeOrder"]
    assert payload["errors"] == [] and payload["replayed"] is False
    assert payload["order"]["channel"] == "MOBILE" and payload["order"]["total"] == "22.60"
    _, again = _place(tenant_client, token, [{"sku": "SKU0", "quantity": 2}], channel="MOBILE")
    assert again["data"]["placeOrder"]["replayed"] is True
    assert again["data"]["placeOrder"]["order"]["number"] == payload["order"]["number"]


def test_typed_errors_per_line_and_nothing_reserved(shop, tenant_client):
    token = token_for(shop.buyer)
    _, body = _place(
        tenant_client,
        token,
        [
            {"sku": "SKU0", "quantity": 500},
            {"sku": "SKU9", "quantity": 1},
            {"sku": "SKU1", "quantity": 0},
        ],
    )
    errors = body["data"]["placeOrder"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        ("lines.1.sku", "UNKNOWN_SKU"),
        ("lines.2.quantity", "INVALID_QUANTITY"),
    ]
    assert errors[0]["suggestion"]
    _, body = _place(tenant_client, token, [{"sku": "SKU0", "quantity": 500}])
    error = body["data"]["placeOrder"]["errors"][0]
    assert (error["code"], error["available"], error["field"]) == (
        "INSUFFICIENT_STOCK",
        100,
        "lines.0.quantity",
    )
    _, body = _place(tenant_client, token, [{"sku": "SKU0", "quantity": 1}], expected="1.00")
    error = body["data"]["placeOrder"]["errors"][0]
    assert error["code"] == "PRICE_CHANGED" and error["total"] == "11.30"
    assert not Order.objects.exists()


@pytest.mark.parametrize("expected", ["Infinity", "-Infinity", "1e400", "NaN"])
def test_an_expected_total_that_is_no_amount_is_a_price_change(shop, tenant_client, expected):
    """Not an internal error from rounding Infinity to the cent: PRICE_CHANGED with the total."""
    _, body = _place(
        tenant_client, token_for(shop.buyer), [{"sku": "SKU0", "quantity": 1}], expected=expected
    )
    assert "errors" not in body, body
    error = body["data"]["placeOrder"]["errors"][0]
    assert (error["code"], error["field"], error["total"]) == (
        "PRICE_CHANGED",
        "expectedTotal",
        "11.30",
    )
    assert not Order.objects.exists()


def test_dealer_scoping_two_dealers(shop, tenant_client):
    mine = _place(tenant_client, token_for(shop.buyer), [{"sku": "SKU0", "quantity": 1}], key="a")[
        1
    ]
    other = _place(
        tenant_client, token_for(shop.other_buyer), [{"sku": "SKU0", "quantity": 1}], key="b"
    )[1]
    mine_id = mine["data"]["placeOrder"]["order"]["id"]
    other_id = other["data"]["placeOrder"]["order"]["id"]
    listing = "{ orders { totalCount edges { node { id } } } }"
    _, body = gql(tenant_client, listing, token=token_for(shop.buyer))
    assert [e["node"]["id"] for e in body["data"]["orders"]["edges"]] == [mine_id]
    _, body = gql(
        tenant_client,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": other_id},
        token=token_for(shop.buyer),
    )
    assert body["data"]["node"] is None
    _, body = gql(tenant_client, listing, token=token_for(shop.staff))
    assert body["data"]["orders"]["totalCount"] == 2
    # A buyer cannot order for, cancel or approve another dealer's order.
    _, body = _place(
        tenant_client,
        token_for(shop.buyer),
        [{"sku": "SKU0", "quantity": 1}],
        key="c",
        dealerId=to_global_id("Dealer", shop.other_dealer.pk),
    )
    assert body["data"]["placeOrder"]["errors"][0]["code"] == "NOT_FOUND"
    cancel = "mutation($id: ID!) { cancelOrder(orderId: $id) { errors { code } } }"
    _, body = gql(tenant_client, cancel, {"id": other_id}, token=token_for(shop.buyer))
    assert body["data"]["cancelOrder"]["errors"][0]["code"] == "NOT_FOUND"
    approve = "mutation($id: ID!) { approveOrder(orderId: $id) { errors { code } } }"
    _, body = gql(tenant_client, approve, {"id": mine_id}, token=token_for(shop.buyer))
    assert body["data"]["approveOrder"]["errors"][0]["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("mutation", ["cancelOrder", "approveOrder", "reorder"])
@pytest.mark.parametrize(
    "order_id",
    [
        to_global_id("Order", "abc"),
        to_global_id("Order", ""),
        to_global_id("Order", "١"),
        "garbage",
    ],
)
def test_an_order_id_that_is_not_a_number_is_not_found(shop, tenant_client, mutation, order_id):
    query = f"mutation($id: ID!) {{ {mutation}(orderId: $id) {{ errors {{ field code }} }} }}"
    _, body = gql(tenant_client, query, {"id": order_id}, token=token_for(shop.staff))
    assert "errors" not in body
    assert body["data"][mutation]["errors"] == [{"field": "orderId", "code": "NOT_FOUND"}]


def test_orders_never_cross_tenants(
    shop, tenant_client, other_tenant, other_tenant_client, in_tenant
):
    _place(tenant_client, token_for(shop.buyer), [{"sku": "SKU0", "quantity": 1}])
    with in_tenant(other_tenant):
        other_shop = build_shop(n_skus=1)
        token = token_for(other_shop.staff)
    _, body = gql(other_tenant_client, "{ orders { totalCount } }", token=token)
    assert body["data"]["orders"]["totalCount"] == 0
    status, _body = gql(
        other_tenant_client, "{ orders { totalCount } }", token=token_for(shop.staff)
    )
    assert status == 401


def test_sales_rep_channel_and_api_key_channel(shop, tenant_client):
    from core.accounts.services import create_api_key

    rep = UserFactory(role="sales_rep")
    shop.dealer.sales_reps.add(rep)
    dealer_id = to_global_id("Dealer", shop.dealer.pk)
    _, body = _place(
        tenant_client, token_for(rep), [{"sku": "SKU0", "quantity": 1}], key="r", dealerId=dealer_id
    )
    assert body["data"]["placeOrder"]["order"]["channel"] == "SALES_REP"
    _, body = _place(
        tenant_client,
        token_for(rep),
        [{"sku": "SKU0", "quantity": 1}],
        key="r2",
        dealerId=to_global_id("Dealer", shop.other_dealer.pk),
    )
    assert body["data"]["placeOrder"]["errors"][0]["code"] == "NOT_FOUND"
    key = create_api_key(name="ERP", scopes=["orders:write", "orders:read"]).secret
    _, body = gql(
        tenant_client,
        PLACE,
        {"lines": [{"sku": "SKU0", "quantity": 1}], "key": "erp-1", "dealerId": dealer_id},
        api_key=key,
    )
    assert body["data"]["placeOrder"]["order"]["channel"] == "API"
    read_only = create_api_key(name="BI", scopes=["orders:read"]).secret
    _, body = gql(
        tenant_client,
        PLACE,
        {"lines": [{"sku": "SKU0", "quantity": 1}], "key": "bi-1", "dealerId": dealer_id},
        api_key=read_only,
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_sheet_upload_and_quick_order_over_graphql(shop, tenant_client):
    wb = Workbook()
    wb.active.append(["sku", "quantity"])
    wb.active.append(["SKU0", 2])
    buf = io.BytesIO()
    wb.save(buf)
    upload = """mutation($f: String!, $c: String!) { orderSheetUpload(filename: $f, contentBase64: $c, idempotencyKey: "s1") {
      order { channel } errors { code field } } }"""
    _, body = gql(
        tenant_client,
        upload,
        {"f": "o.xlsx", "c": base64.b64encode(buf.getvalue()).decode()},
        token=token_for(shop.buyer),
    )
    assert body["data"]["orderSheetUpload"]["order"]["channel"] == "IMPORT"
    _, body = gql(tenant_client, upload, {"f": "o.xlsx", "c": "%%%"}, token=token_for(shop.buyer))
    assert body["data"]["orderSheetUpload"]["errors"][0]["code"] == "INVALID_FILE"
    quick = 'mutation { quickOrderPlace(text: "SKU1 3", idempotencyKey: "q1") { order { channel } errors { code } } }'
    _, body = gql(tenant_client, quick, token=token_for(shop.buyer))
    assert body["data"]["quickOrderPlace"]["order"]["channel"] == "QUICK_ORDER"


def test_staff_ship_and_return_over_graphql(shop, tenant_client):
    _, body = _place(tenant_client, token_for(shop.buyer), [{"sku": "SKU0", "quantity": 4}])
    order = Order.objects.get()
    shipment_id = to_global_id("Shipment", order.shipments.get().pk)
    ship = """mutation($id: ID!) { shipShipment(shipmentId: $id, carrier: "SF", trackingNumber: "SF9") {
      shipment { status trackingNumber } errors { code } } }"""
    _, body = gql(tenant_client, ship, {"id": shipment_id}, token=token_for(shop.buyer))
    assert body["data"]["shipShipment"]["errors"][0]["code"] == "PERMISSION_DENIED"
    too_long = """mutation($id: ID!, $t: String!) { shipShipment(shipmentId: $id, carrier: "SF",
      trackingNumber: $t) { shipment { status } errors { field code } } }"""
    _, body = gql(
        tenant_client, too_long, {"id": shipment_id, "t": "9" * 65}, token=token_for(shop.staff)
    )
    assert body["data"]["shipShipment"] == {
        "shipment": None,
        "errors": [{"field": "trackingNumber", "code": "TOO_LONG"}],
    }
    _, body = gql(tenant_client, ship, {"id": shipment_id}, token=token_for(shop.staff))
    assert body["data"]["shipShipment"]["shipment"] == {
        "status": "SHIPPED",
        "trackingNumber": "SF9",
    }
    ret = """mutation($id: ID!) { returnGoods(orderId: $id, items: [{position: 0, quantity: 1}], reason: "broken") {
      credit errors { code } order { status } } }"""
    _, body = gql(
        tenant_client, ret, {"id": to_global_id("Order", order.pk)}, token=token_for(shop.staff)
    )
    assert body["data"]["returnGoods"]["credit"] == "11.30"


def test_stock_views_are_scoped(shop, tenant_client):
    levels = '{ stockLevels(skuCode: "SKU0") { skuCode onHand reserved warehouse { code } } }'
    _, body = gql(tenant_client, levels, token=token_for(shop.buyer))
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    _, body = gql(tenant_client, levels, token=token_for(shop.staff))
    assert {r["warehouse"]["code"] for r in body["data"]["stockLevels"]} == {"EAST", "WEST"}
    avail = '{ availability(skuCodes: ["SKU0"]) { available warehouses { code inRegion } } }'
    _, body = gql(tenant_client, avail, token=token_for(shop.buyer))
    assert body["data"]["availability"][0]["available"] == 100
    assert body["data"]["availability"][0]["warehouses"][0] == {"code": "EAST", "inRegion": True}


def test_sql_statements_per_order_do_not_grow_with_lines(tenant_db, tenant_client):
    """The order service runs at most 13 statements (savepoint included), the same for
    1 and 20 lines; the whole HTTP request adds tenant routing and auth, and drops the
    order's savepoint (the response reads nothing back: the placed lines and shipments
    come with the order)."""
    from core.orders import services
    from core.orders.lines import LineInput
    from core.testing.queries import count_queries

    shop = build_shop(n_skus=20)
    services.place_order(
        dealer=shop.dealer,
        user=shop.buyer,
        lines=[LineInput("SKU0", 1)],
        channel="web",
        idempotency_key="warm-up",
    )  # opens the dealer's credit account
    counts = {}
    for n in (1, 20):
        lines = [LineInput(f"SKU{i}", 1) for i in range(n)]
        with count_queries(max_count=13) as q:
            services.place_order(
                dealer=shop.dealer,
                user=shop.buyer,
                lines=lines,
                channel="web",
                idempotency_key=f"sql-{n}",
            )
        counts[n] = q.count
    assert counts[1] == counts[20]
    token = token_for(shop.buyer)
    with count_queries(max_count=counts[1] + 6):
        _, body = _place(
            tenant_client, token, [{"sku": f"SKU{i}", "quantity": 1} for i in range(20)], key="http"
        )
    assert body["data"]["placeOrder"]["errors"] == []


def test_a_sole_place_order_uses_the_mutation_transaction_without_a_savepoint(shop, tenant_client):
    """Alone in its request, placeOrder needs no savepoint: the view rolls the whole mutation
    request back on any error. (Here the view's transaction is itself a savepoint inside the
    test's transaction: one SAVEPOINT shows, not two.) Beside another field, each order keeps
    its own, so a failed one leaves the transaction usable for the next."""
    from core.inventory.models import Stock
    from core.testing.queries import count_queries

    token = token_for(shop.buyer)
    _place(tenant_client, token, [{"sku": "SKU0", "quantity": 1}], key="first")  # opens credit
    with count_queries() as q:
        _, body = _place(tenant_client, token, [{"sku": "SKU0", "quantity": 1}], key="alone")
    assert body["data"]["placeOrder"]["errors"] == []
    assert sum(sql.startswith("SAVEPOINT") for sql in q.statements) == 1, str(q)

    reserved = sorted(Stock.objects.values_list("id", "reserved"))
    orders = Order.objects.count()
    two = """mutation($bad: [OrderLineInput!]!, $good: [OrderLineInput!]!) {
      a: placeOrder(lines: $bad, idempotencyKey: "two-a") { order { number } errors { code } }
      b: placeOrder(lines: $good, idempotencyKey: "two-b") { order { number } errors { code } } }"""
    with count_queries() as q:
        _, body = gql(
            tenant_client,
            two,
            {
                "bad": [{"sku": "SKU0", "quantity": 500}],
                "good": [{"sku": "SKU1", "quantity": 1}],
            },
            token=token,
        )
    assert body["data"]["a"] == {"order": None, "errors": [{"code": "INSUFFICIENT_STOCK"}]}
    assert sum(sql.startswith("SAVEPOINT") for sql in q.statements) == 3
    # A mutation request with a failed mutation is rolled back whole, and the order that
    # had succeeded says so rather than answer with a number that no longer exists.
    assert body["data"]["b"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["b"], "ROLLED_BACK")
    ]
    assert Order.objects.count() == orders
    assert sorted(Stock.objects.values_list("id", "reserved")) == reserved


def test_a_failed_entry_of_a_batch_does_not_undo_the_next(shop, tenant_client):
    """Each entry of a batch is its own transaction: an entry after a failed one keeps
    its order (it answered success, so it must exist)."""
    import json

    from django.db import connection

    from core.inventory.models import Stock

    token = token_for(shop.buyer)
    tenant = connection.tenant
    batch = [
        {"query": PLACE, "variables": {"lines": [{"sku": "SKU9", "quantity": 1}], "key": "b1"}},
        {"query": PLACE, "variables": {"lines": [{"sku": "SKU0", "quantity": 2}], "key": "b2"}},
    ]
    response = tenant_client.post(
        "/graphql/",
        json.dumps(batch),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    connection.set_tenant(tenant)
    first, second = response.json()
    assert first["data"]["placeOrder"]["errors"][0]["code"] == "UNKNOWN_SKU"
    placed = second["data"]["placeOrder"]
    assert placed["errors"] == [] and placed["order"]["number"]
    assert "errors" not in second
    order = Order.objects.get(idempotency_key="b2")
    assert order.number == placed["order"]["number"]
    assert sum(Stock.objects.filter(sku__code="SKU0").values_list("reserved", flat=True)) == 2


def test_order_listing_query_count_does_not_grow(shop, tenant_client):
    from core.orders import services
    from core.orders.lines import LineInput
    from core.testing.queries import count_queries

    token = token_for(shop.staff)
    query = "{ orders(first: 50) { edges { node { number dealerCode lines { skuCode } shipments { warehouseCode } history { by toStatus } } } } }"
    services.place_order(
        dealer=shop.dealer,
        user=shop.buyer,
        lines=[LineInput("SKU0", 1)],
        channel="web",
        idempotency_key="l0",
    )
    with count_queries() as one:
        gql(tenant_client, query, token=token)
    for i in range(1, 6):
        services.place_order(
            dealer=shop.dealer,
            user=shop.buyer,
            lines=[LineInput("SKU0", 1), LineInput("SKU1", 1)],
            channel="web",
            idempotency_key=f"l{i}",
        )
    with count_queries() as six:
        _, body = gql(tenant_client, query, token=token)
    assert len(body["data"]["orders"]["edges"]) == 6
    assert six.count == one.count


def test_the_placed_order_answers_as_it_reads_back(shop, tenant_client):
    """The mutation answers from the rows it wrote (nothing read back): the same lines,
    amounts and shipments as a later query of the order."""
    fields = (
        "id number subtotal taxTotal total lines { position skuCode unitCode quantity baseQuantity unitPrice "
        "listPrice discount taxRate taxAmount lineTotal isFree returnedQuantity } "
        "shipments { id status warehouseCode carrier trackingNumber }"
    )
    mutation = (
        "mutation($lines: [OrderLineInput!]!, $key: String!) { placeOrder(lines: $lines, idempotencyKey: $key) "
        "{ order { " + fields + " } errors { code } } }"
    )
    token = token_for(shop.buyer)
    lines = [
        {"sku": "SKU0", "quantity": 70},
        {"sku": "SKU1", "quantity": 3},
        {"sku": "SKU2", "quantity": 1},
    ]
    _, body = gql(tenant_client, mutation, {"lines": lines, "key": "echo"}, token=token)
    placed = body["data"]["placeOrder"]["order"]
    assert body["data"]["placeOrder"]["errors"] == []
    assert [s["warehouseCode"] for s in placed["shipments"]] == ["EAST", "WEST"]  # SKU0 is split
    assert [li["position"] for li in placed["lines"]] == [0, 1, 2]
    _, read = gql(
        tenant_client,
        "query($id: ID!) { node(id: $id) { ... on Order { " + fields + " } } }",
        {"id": placed["id"]},
        token=token,
    )
    assert read["data"]["node"] == placed


def test_free_goods_answer_with_their_sku(shop, tenant_client):
    """A free line (buy 3 get 1) is placed by SKU id: the answer still names its SKU,
    read back with the lines in one query, not one per line."""
    from core.pricing.services import save_promotion
    from core.testing.queries import count_queries

    save_promotion(
        code="G1",
        name="G1",
        kind="buy_x_get_y",
        sku_ids=[shop.skus[0].pk],
        rule={"buy_quantity": 3, "get_quantity": 1, "get_sku_id": shop.skus[2].pk},
    )
    token = token_for(shop.buyer)
    _place(tenant_client, token, [{"sku": "SKU1", "quantity": 1}], key="warm")
    with count_queries() as plain:
        _place(
            tenant_client,
            token,
            [{"sku": "SKU1", "quantity": 1}, {"sku": "SKU2", "quantity": 1}],
            key="plain",
        )
    with count_queries() as free:
        _, body = _place(
            tenant_client,
            token,
            [{"sku": "SKU0", "quantity": 6}, {"sku": "SKU1", "quantity": 1}],
            key="free",
        )
    lines = body["data"]["placeOrder"]["order"]["lines"]
    assert [(li["skuCode"], li["quantity"]) for li in lines] == [
        ("SKU0", 6),
        ("SKU1", 1),
        ("SKU2", 2),
    ]
    # the free goods' price (1), promotion usage and redemption (2), the lines read back
    # with their SKUs (1): a fixed number, not one per line
    assert free.count <= plain.count + 4, f"{plain}\n{free}"
