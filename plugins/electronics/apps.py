from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ElectronicsConfig(AppConfig):
    name = "plugins.electronics"
    label = "electronics"
    verbose_name = _("Electronic components")
    default_auto_field = "django.db.models.BigAutoField"
