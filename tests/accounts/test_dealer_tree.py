"""The dealer tree: materialised paths, moves, and who sees and acts for which dealer."""

from decimal import Decimal

import pytest

from core.accounts import selectors, services
from core.accounts.models import Dealer, PaymentTerms, Role
from core.exceptions import DomainError, PermissionDenied, ValidationFailed
from core.testing.factories import DealerFactory, DealerUserFactory, UserFactory


@pytest.fixture
def tree(tenant_db):
    """HQ → east → (shop1, shop2); HQ → west → shop3; and a separate root."""
    hq = services.create_dealer(code="HQ", name="HQ")
    east = services.create_dealer(code="EAST", name="East", parent=hq)
    west = services.create_dealer(code="WEST", name="West", parent=hq)
    shop1 = services.create_dealer(code="S1", name="Shop 1", parent=east)
    shop2 = services.create_dealer(code="S2", name="Shop 2", parent=east)
    shop3 = services.create_dealer(code="S3", name="Shop 3", parent=west)
    other = services.create_dealer(code="OTHER", name="Other root")
    return {d.code: d for d in (hq, east, west, shop1, shop2, shop3, other)}


def codes(qs):
    return sorted(d.code for d in qs)


def test_paths_and_subtree_queries(tree, django_assert_num_queries):
    shop1 = Dealer.objects.get(code="S1")
    assert shop1.path == f"/{tree['HQ'].pk}/{tree['EAST'].pk}/{shop1.pk}/"
    assert shop1.depth == 2
    assert shop1.ancestor_ids == [tree["HQ"].pk, tree["EAST"].pk]
    with django_assert_num_queries(1):
        assert codes(selectors.dealer_subtree(tree["EAST"])) == ["EAST", "S1", "S2"]
    assert codes(selectors.dealer_ancestors(shop1)) == ["EAST", "HQ"]


def test_moving_a_dealer_moves_its_subtree(tree):
    services.move_dealer(tree["EAST"], parent=tree["OTHER"])
    shop2 = Dealer.objects.get(code="S2")
    east = Dealer.objects.get(code="EAST")
    assert east.path == f"/{tree['OTHER'].pk}/{east.pk}/" and east.depth == 1
    assert shop2.path == f"{east.path}{shop2.pk}/" and shop2.depth == 2
    assert codes(selectors.dealer_subtree(tree["HQ"])) == ["HQ", "S3", "WEST"]
    services.move_dealer(Dealer.objects.get(code="EAST"), parent=None)
    assert Dealer.objects.get(code="S1").depth == 1


def test_a_dealer_cannot_move_under_its_own_subtree(tree):
    with pytest.raises(DomainError) as err:
        services.move_dealer(tree["HQ"], parent=Dealer.objects.get(code="S1"))
    assert err.value.code == "INVALID_PARENT"
    assert Dealer.objects.get(code="HQ").parent_id is None


def test_create_dealer_validates_every_field(tenant_db):
    DealerFactory(code="TAKEN")
    with pytest.raises(ValidationFailed) as err:
        services.create_dealer(
            code="taken", name="", currency="yuan", credit_limit="-5", payment_terms="net_7"
        )
    fields = {(e.field, e.code) for e in err.value.errors}
    assert fields == {
        ("code", "TAKEN"),
        ("name", "REQUIRED"),
        ("currency", "INVALID"),
        ("credit_limit", "INVALID"),
        ("payment_terms", "INVALID"),
    }
    assert not Dealer.objects.filter(name="").exists()


@pytest.mark.parametrize("limit", ["0.001", "12.345", "1e-3"])
def test_a_credit_limit_finer_than_cents_is_refused_not_rounded(tenant_db, limit):
    with pytest.raises(ValidationFailed) as err:
        services.create_dealer(code="CENTS", name="Cents", credit_limit=limit)
    assert [(e.field, e.code) for e in err.value.errors] == [("credit_limit", "INVALID")]
    assert not Dealer.objects.filter(code="CENTS").exists()
    dealer = services.create_dealer(code="CENTS", name="Cents", credit_limit="12.340")
    assert dealer.credit_limit == Decimal("12.34")
    with pytest.raises(ValidationFailed):
        services.update_dealer(dealer, credit_limit="0.005")
    dealer.refresh_from_db()
    assert dealer.credit_limit == Decimal("12.34")


def test_create_dealer_with_addresses_contacts_terms_and_reps(tenant_db):
    rep = UserFactory(role=Role.SALES_REP)
    dealer = services.create_dealer(
        code="D1",
        name="Dealer",
        payment_terms=PaymentTerms.NET_60,
        credit_limit="5000",
        tax_id="91310000X",
        sales_reps=[rep],
        addresses=[
            {"kind": "billing", "line1": "1 Road", "city": "Shanghai"},
            {"kind": "shipping", "line1": "2 Dock"},
            {"kind": "shipping", "line1": "3 Dock"},
        ],
        contacts=[{"name": "Li Lei", "email": "li@example.com", "is_primary": True}],
    )
    assert dealer.credit_limit == Decimal("5000.00")
    assert PaymentTerms.days(dealer.payment_terms) == 60
    assert [(a.kind, a.line1, a.is_default) for a in dealer.addresses.order_by("id")] == [
        ("billing", "1 Road", True),
        ("shipping", "2 Dock", True),
        ("shipping", "3 Dock", False),
    ]
    assert list(dealer.sales_reps.all()) == [rep]
    with pytest.raises(DomainError) as err:
        services.update_dealer(dealer, sales_reps=[UserFactory(role=Role.STAFF)])
    assert err.value.field == "sales_reps"
    with pytest.raises(ValidationFailed) as err:
        services.update_dealer(dealer, contacts=[{"name": "", "email": "x"}])
    assert err.value.errors[0].field == "contacts.0.name"


def test_scoping_rules(tree):
    staff = UserFactory(role=Role.STAFF)
    buyer = DealerUserFactory(dealer=tree["S1"], role=Role.DEALER_BUYER)
    admin_east = DealerUserFactory(dealer=tree["EAST"], role=Role.DEALER_ADMIN)
    admin_shop = DealerUserFactory(dealer=tree["S2"], role=Role.DEALER_ADMIN)
    rep = UserFactory(role=Role.SALES_REP)
    tree["WEST"].sales_reps.add(rep)
    tree["OTHER"].sales_reps.add(rep)
    lonely_rep = UserFactory(role=Role.SALES_REP)
    inactive = DealerUserFactory(dealer=tree["S1"], is_active=False)

    assert len(codes(selectors.dealers_visible_to(staff))) == 7
    assert codes(selectors.dealers_visible_to(buyer)) == ["S1"]
    assert codes(selectors.dealers_visible_to(admin_east)) == ["EAST", "S1", "S2"]
    assert codes(selectors.dealers_visible_to(admin_shop)) == ["S2"]
    assert codes(selectors.dealers_visible_to(rep)) == ["OTHER", "S3", "WEST"]
    assert codes(selectors.dealers_visible_to(lonely_rep)) == []
    assert codes(selectors.dealers_visible_to(inactive)) == []
    assert codes(selectors.dealers_visible_to(None)) == []
    assert len(codes(selectors.dealers_visible_to(None, api_key=object()))) == 7
    assert set(selectors.visible_dealer_ids(admin_east).values_list("pk", flat=True)) == {
        tree["EAST"].pk,
        tree["S1"].pk,
        tree["S2"].pk,
    }

    # can_act_for_dealer: a buyer for its own, an admin for its children, a rep for covered subtrees.
    assert selectors.can_act_for_dealer(buyer, tree["S1"])
    assert not selectors.can_act_for_dealer(buyer, tree["S2"])
    assert not selectors.can_act_for_dealer(buyer, tree["EAST"])
    assert selectors.can_act_for_dealer(admin_east, tree["S2"])
    assert not selectors.can_act_for_dealer(admin_east, tree["HQ"])
    assert not selectors.can_act_for_dealer(admin_east, tree["S3"])
    assert selectors.can_act_for_dealer(rep, tree["S3"])
    assert not selectors.can_act_for_dealer(rep, tree["S1"])
    assert selectors.can_act_for_dealer(staff, tree["S1"])
    assert not selectors.can_act_for_dealer(inactive, tree["S1"])


def test_filter_by_visible_dealers_scopes_other_models(tree):
    """Other apps scope their rows (here users, by their dealer) in the same statement."""
    from core.accounts.models import User

    admin_east = DealerUserFactory(dealer=tree["EAST"], role=Role.DEALER_ADMIN)
    DealerUserFactory(dealer=tree["S1"])
    DealerUserFactory(dealer=tree["S3"])
    rows = selectors.filter_by_visible_dealers(
        User.objects.filter(dealer__isnull=False), admin_east
    )
    assert sorted(u.dealer.code for u in rows) == ["EAST", "S1"]


def test_dealer_admin_adds_users_only_within_its_subtree(tree):
    admin_east = DealerUserFactory(dealer=tree["EAST"], role=Role.DEALER_ADMIN)
    user = services.create_dealer_user(
        dealer=tree["S1"], username="shop1-buyer", password="Xk9!long-pass", actor=admin_east
    )
    assert user.dealer == tree["S1"] and user.role == Role.DEALER_BUYER
    with pytest.raises(PermissionDenied):
        services.create_dealer_user(
            dealer=tree["S3"], username="nope", password="Xk9!long-pass", actor=admin_east
        )
    buyer = DealerUserFactory(dealer=tree["S1"])
    with pytest.raises(PermissionDenied):
        services.create_dealer_user(
            dealer=tree["S1"], username="nope2", password="Xk9!long-pass", actor=buyer
        )
    with pytest.raises(DomainError) as err:
        services.create_dealer_user(
            dealer=tree["S1"], username="x", password="Xk9!long-pass", role=Role.STAFF
        )
    assert err.value.field == "role"


def test_dealers_are_per_tenant(tenant_db, other_tenant, in_tenant):
    services.create_dealer(code="SAME", name="Alpha's")
    with in_tenant(other_tenant):
        assert not Dealer.objects.filter(code="SAME").exists()
        services.create_dealer(code="SAME", name="Beta's")
    assert Dealer.objects.get(code="SAME").name == "Alpha's"
