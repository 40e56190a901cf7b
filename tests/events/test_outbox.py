"""The outbox schedules one relay per committed transaction."""

import pytest
from django.db import transaction

from core.events import services as events
from core.events.models import Event


def test_a_rolled_back_transaction_does_not_stop_later_relays(
    tenant_db, django_capture_on_commit_callbacks
):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.record("test.rolled_back", aggregate_type="test", aggregate_id=1, payload={})
        raise RuntimeError("abort")
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        events.record("test.kept", aggregate_type="test", aggregate_id=2, payload={})
        events.record("test.kept", aggregate_type="test", aggregate_id=3, payload={})
    assert [cb for cb in callbacks if cb is events._send_relay] == [events._send_relay]
    assert list(Event.objects.values_list("type", flat=True)) == ["test.kept", "test.kept"]
    assert Event.objects.first().payload["tenant"] == tenant_db.schema_name
