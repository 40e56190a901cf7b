"""A login token names its user: read with its dealer in one statement, as the ORM
reads them, and refused once the user is deactivated."""

import pytest

from core.accounts.models import User
from core.accounts.services import InvalidToken, user_for_token
from core.testing.factories import DealerUserFactory, UserFactory
from core.testing.pytest_plugin import token_for
from core.testing.queries import count_queries


def _columns(obj):
    return [getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields]


def test_a_tokens_user_and_dealer_are_what_the_orm_reads_in_one_statement(tenant_db):
    buyer = DealerUserFactory()
    token = token_for(buyer)
    with count_queries() as q:
        user = user_for_token(token)
        dealer = user.dealer  # read alongside, not by another statement
    assert q.count == 1, str(q)
    fresh = User.objects.select_related("dealer").get(pk=buyer.pk)
    assert _columns(user) == _columns(fresh)
    assert _columns(dealer) == _columns(fresh.dealer)
    assert user._state.adding is False and dealer._state.adding is False
    user.first_name = "Saved"
    user.save(update_fields=["first_name"])
    assert User.objects.get(pk=buyer.pk).first_name == "Saved"


def test_a_token_of_a_user_without_dealer_or_deactivated(tenant_db):
    staff = UserFactory()
    token = token_for(staff)
    with count_queries() as q:
        user = user_for_token(token)
        assert user.dealer is None
    assert q.count == 1 and user.pk == staff.pk
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    with pytest.raises(InvalidToken):
        user_for_token(token)
