from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExampleVendorConfig(AppConfig):
    name = "dinghuo_example_vendor"
    label = "example_vendor"
    verbose_name = _("Minimum order quantities")
    default_auto_field = "django.db.models.BigAutoField"
