"""Your models: installed in every tenant schema. Create migrations with
``python manage.py makemigrations my_plugin`` (package installed, see README)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Note(models.Model):
    """Replace me: a note a tenant's staff keeps about a SKU."""

    sku = models.ForeignKey("catalog.Sku", verbose_name=_("SKU"), on_delete=models.CASCADE)
    text = models.CharField(_("text"), max_length=200)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return self.text
