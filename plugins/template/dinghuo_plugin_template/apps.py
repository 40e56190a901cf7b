from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MyPluginConfig(AppConfig):
    name = "dinghuo_plugin_template"
    label = "my_plugin"
    verbose_name = _("My plugin")
    default_auto_field = "django.db.models.BigAutoField"
