from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PharmaConfig(AppConfig):
    name = "plugins.pharma"
    label = "pharma"
    verbose_name = _("Pharma (GSP)")
    default_auto_field = "django.db.models.BigAutoField"
