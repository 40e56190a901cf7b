"""The GraphQL contract in graphql/: printed schema, breaking changes, documented operations."""

from core.api.contract import SCHEMA_PATH, allowed_breaking_changes, breaking_changes, current_sdl


def test_printed_schema_is_up_to_date():
    assert SCHEMA_PATH.read_text() == current_sdl(), (
        "graphql/schema.graphql is stale: run 'make schema' and commit the result."
    )


def test_no_unannounced_breaking_changes_against_the_committed_contract():
    changes = set(breaking_changes(SCHEMA_PATH.read_text(), current_sdl()))
    unexpected = changes - allowed_breaking_changes()
    assert not unexpected, (
        "The code breaks the committed GraphQL contract:\n  "
        + "\n  ".join(sorted(unexpected))
        + "\nKeep the old fields (deprecate them), or list the change in graphql/allowed-breaking-changes.txt."
    )


def test_breaking_change_detection_catches_a_removed_field():
    old = "type Query { a: Int, b: String }"
    new = "type Query { a: Int }"
    assert breaking_changes(old, new) == ["FIELD_REMOVED: Query.b was removed."]
