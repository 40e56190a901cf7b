from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutopartsConfig(AppConfig):
    name = "plugins.autoparts"
    label = "autoparts"
    verbose_name = _("Auto parts")
    default_auto_field = "django.db.models.BigAutoField"
