from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "core.accounts"
    label = "accounts"
    verbose_name = _("Accounts and dealers")

    def ready(self) -> None:
        from .roles import on_post_migrate

        post_migrate.connect(on_post_migrate, dispatch_uid="core.accounts.roles.on_post_migrate")
