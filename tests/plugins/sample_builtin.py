"""A module-level plugin, registered from a pyproject.toml entry-point table in the tests."""

from plugins import hookimpl


@hookimpl
def django_apps():
    return ["tests.plugins"]


@hookimpl
def order_error_codes():
    return ["SAMPLE_REFUSED"]
