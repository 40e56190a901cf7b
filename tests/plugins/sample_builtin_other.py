"""Another module that claims the name of sample_builtin's plugin in the duplicate test."""

from plugins import hookimpl


@hookimpl
def order_error_codes():
    return ["OTHER"]
