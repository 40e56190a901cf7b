"""Public-schema models of the plugin system.

Which plugins a tenant has enabled is ``Tenant.modules`` (read with the tenant
on every request, so the hot path costs no query). The values a tenant gave a
plugin's settings live here, one row per tenant and plugin; defaults come from
the plugin's ``plugin_settings`` hook and are not stored.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TenantPluginConfig(models.Model):
    tenant = models.ForeignKey(
        "tenants.Tenant",
        verbose_name=_("tenant"),
        on_delete=models.CASCADE,
        related_name="plugin_configs",
    )
    plugin = models.CharField(_("plugin"), max_length=40)
    values = models.JSONField(_("settings"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("plugin settings of a tenant")
        verbose_name_plural = _("plugin settings of tenants")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plugin"], name="plugin_config_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.plugin}"
