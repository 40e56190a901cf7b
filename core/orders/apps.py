from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "core.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from tenants.limits import register_usage_counter

        from .services import orders_this_month

        # Plan usage (billing page, platform admin) counts orders as the limit does.
        register_usage_counter("orders_per_month", lambda tenant: orders_this_month())
