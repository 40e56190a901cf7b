from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FoodConfig(AppConfig):
    name = "plugins.food"
    label = "food"
    verbose_name = _("Food & beverage")
    default_auto_field = "django.db.models.BigAutoField"
