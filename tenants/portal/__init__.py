"""The signup portal on the public host, the login hand-over to the tenant host,
and the billing page of the tenant console."""
