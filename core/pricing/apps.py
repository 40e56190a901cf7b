from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PricingConfig(AppConfig):
    name = "core.pricing"
    label = "pricing"
    verbose_name = _("Pricing")

    def ready(self) -> None:
        from core.imports.registry import register

        from .imports import PriceImport

        register(PriceImport())  # price sheets in the console's import/export
