from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PluginsConfig(AppConfig):
    """The plugin system's own tables (public schema): per-tenant plugin settings."""

    name = "plugins"
    label = "plugins"
    verbose_name = _("Plugins")
    default_auto_field = "django.db.models.BigAutoField"
