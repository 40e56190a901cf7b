"""Until the outbox relay calls :func:`search.indexing.schedule_reindex` for
``product.*``, ``price.*`` and ``stock.*`` events, model signals do.

The outbox will replace these handlers: it also sees bulk updates (which send
no signals) and survives a crash between commit and enqueue.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models.signals import post_delete, post_save

from .indexing import schedule_reindex


def _product(sender, instance, **kwargs) -> None:
    schedule_reindex([instance.pk])


def _by_product_id(sender, instance, **kwargs) -> None:
    schedule_reindex([instance.product_id])


def _by_sku(sender, instance, **kwargs) -> None:
    from core.catalog.models import Sku

    product_id = Sku.objects.filter(pk=instance.sku_id).values_list("product_id", flat=True).first()
    if product_id is not None:
        schedule_reindex([product_id])


def _category(sender, instance, created=False, **kwargs) -> None:
    if created:
        return
    from core.catalog.models import Product

    from .documents import descendants

    ids = Product.objects.filter(category_id__in=descendants([instance.pk])).values_list(
        "id", flat=True
    )
    schedule_reindex(list(ids))


def _brand(sender, instance, created=False, **kwargs) -> None:
    if not created:
        schedule_reindex(list(instance.products.values_list("id", flat=True)))


def connect() -> None:
    from core.catalog.models import Brand, Category, Product, Sku, SkuUnit
    from core.inventory.models import Stock

    uid = "search."
    for signal in (post_save, post_delete):
        signal.connect(_product, sender=Product, dispatch_uid=uid + "product" + signal_name(signal))
        signal.connect(_by_product_id, sender=Sku, dispatch_uid=uid + "sku" + signal_name(signal))
        signal.connect(_by_sku, sender=SkuUnit, dispatch_uid=uid + "unit" + signal_name(signal))
        signal.connect(_by_sku, sender=Stock, dispatch_uid=uid + "stock" + signal_name(signal))
    post_save.connect(_category, sender=Category, dispatch_uid=uid + "category")
    post_save.connect(_brand, sender=Brand, dispatch_uid=uid + "brand")
    if apps.is_installed("core.pricing"):
        from core.pricing.models import PriceListItem

        for signal in (post_save, post_delete):
            signal.connect(
                _by_sku, sender=PriceListItem, dispatch_uid=uid + "price" + signal_name(signal)
            )


def signal_name(signal) -> str:
    return ".save" if signal is post_save else ".delete"
