"""Orders, their lines, allocations, shipments, approvals and returns."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0")


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    MOBILE = "mobile", _("Mobile app")
    API = "api", _("API (ERP)")
    IMPORT = "import", _("Excel/CSV upload")
    QUICK_ORDER = "quick_order", _("Quick order")
    SCAN = "scan", _("Barcode scan")
    REORDER = "reorder", _("Reorder")
    SALES_REP = "sales_rep", _("Sales rep")
    MARKETPLACE = "marketplace", _("Marketplace")
    QUOTE = "quote", _("Quote")


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved")
    ALLOCATED = "allocated", _("Allocated")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")


class PaymentMethod(models.TextChoices):
    ON_ACCOUNT = "on_account", _("On account (credit)")
    PREPAID = "prepaid", _("Prepaid")


class OrderSettings(models.Model):
    """The tenant's ordering policy (one row)."""

    class CreditPolicy(models.TextChoices):
        APPROVAL = "approval", _("Send orders over the credit limit for approval")
        REFUSE = "refuse", _("Refuse orders over the credit limit")

    credit_policy = models.CharField(
        _("over the credit limit"),
        max_length=16,
        choices=CreditPolicy.choices,
        default=CreditPolicy.APPROVAL,
    )
    number_prefix = models.CharField(_("order number prefix"), max_length=8, default="SO")

    class Meta:
        verbose_name = _("order settings")
        verbose_name_plural = _("order settings")

    def __str__(self) -> str:
        return f"{self.number_prefix} · {self.get_credit_policy_display()}"


class Order(models.Model):
    number = models.CharField(_("number"), max_length=32, unique=True)
    dealer = models.ForeignKey(
        "accounts.Dealer", verbose_name=_("dealer"), on_delete=models.PROTECT, related_name="orders"
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("placed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders_placed",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.SUBMITTED
    )
    payment_method = models.CharField(
        _("payment"), max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.ON_ACCOUNT
    )
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = models.DecimalField(_("subtotal"), max_digits=14, decimal_places=2, default=ZERO)
    discount_total = models.DecimalField(
        _("discounts"), max_digits=14, decimal_places=2, default=ZERO
    )
    rebate_applied = models.DecimalField(
        _("rebate applied"), max_digits=14, decimal_places=2, default=ZERO
    )
    tax_total = models.DecimalField(_("tax"), max_digits=14, decimal_places=2, default=ZERO)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=ZERO)
    idempotency_key = models.CharField(_("idempotency key"), max_length=128)
    request_hash = models.CharField(max_length=64, editable=False)
    external_ref = models.CharField(_("external reference"), max_length=128, blank=True)
    note = models.TextField(_("note"), blank=True)
    promotion_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dealer", "idempotency_key"], name="order_unique_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_non_negative"),
        ]
        indexes = [models.Index(fields=["dealer", "-created_at"], name="order_dealer_recent_idx")]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    unit_code = models.CharField(_("unit"), max_length=16)
    unit_factor = models.PositiveIntegerField(_("base units per unit"), default=1)
    quantity = models.PositiveIntegerField(_("quantity"))
    base_quantity = models.PositiveIntegerField(_("quantity in base units"))
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=4)
    discount = models.DecimalField(_("discount"), max_digits=14, decimal_places=2, default=ZERO)
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4, default=ZERO)
    tax_amount = models.DecimalField(_("tax"), max_digits=14, decimal_places=2, default=ZERO)
    line_total = models.DecimalField(_("line total"), max_digits=14, decimal_places=2)
    is_free = models.BooleanField(_("free goods"), default=False)
    price_source = models.JSONField(_("why this price"), default=dict, blank=True)
    returned_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(returned_quantity__lte=models.F("base_quantity")),
                name="order_line_returned_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.position} {self.sku_id} × {self.quantity} {self.unit_code}"


class Allocation(models.Model):
    """Base units of a line reserved in one warehouse's stock."""

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="allocations")
    stock = models.ForeignKey(
        "inventory.Stock", on_delete=models.PROTECT, related_name="allocations"
    )
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    shipped_quantity = models.PositiveIntegerField(default=0)
    released_quantity = models.PositiveIntegerField(default=0)
    data = models.JSONField(
        default=dict, blank=True, help_text="Plugin data, e.g. the batch a pharma plugin chose."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    shipped_quantity__lte=models.F("quantity") - models.F("released_quantity")
                ),
                name="allocation_shipped_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} @ {self.warehouse_id} × {self.quantity}"

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.shipped_quantity - self.released_quantity


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class Shipment(models.Model):
    """What one warehouse sends for an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, related_name="shipments"
    )
    status = models.CharField(
        max_length=16, choices=ShipmentStatus.choices, default=ShipmentStatus.PENDING
    )
    carrier = models.CharField(_("carrier"), max_length=64, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "warehouse"], name="shipment_one_per_warehouse"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} from {self.warehouse_id} ({self.status})"


class OrderTransition(models.Model):
    """Every status change, with who and when."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '-'} → {self.to_status}"


class ApprovalRuleKind(models.TextChoices):
    AMOUNT_OVER = "amount_over", _("Order total over an amount")
    OVER_CREDIT_LIMIT = "over_credit_limit", _("Over the dealer's available credit")
    NEW_DEALER = "new_dealer", _("Dealer's first orders")
    CATEGORY = "category", _("Contains products of a category")


class ApprovalRule(models.Model):
    """A rule that routes matching orders to approvers of a role."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ApprovalRuleKind.choices)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    first_orders = models.PositiveSmallIntegerField(_("first N orders"), default=1)
    category = models.ForeignKey(
        "catalog.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    approver_role = models.CharField(_("approver role"), max_length=20, default="tenant_admin")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("approval rule")
        verbose_name_plural = _("approval rules")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="amount_over") | Q(amount__isnull=False, amount__gte=0),
                name="approval_amount_rule_has_amount",
            ),
            models.CheckConstraint(
                condition=~Q(kind="category") | Q(category__isnull=False),
                name="approval_category_rule_has_category",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class OrderApproval(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="approvals")
    rule = models.ForeignKey(ApprovalRule, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=255)
    approver_role = models.CharField(max_length=20)
    status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.order_id}: {self.reason} ({self.status})"


class OrderReturn(models.Model):
    """Goods sent back: restocked, and credited to the dealer."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    credit_amount = models.DecimalField(_("credit"), max_digits=14, decimal_places=2)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"RMA-{self.pk} for {self.order_id}"


class ReturnLine(models.Model):
    order_return = models.ForeignKey(OrderReturn, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    base_quantity = models.PositiveIntegerField()
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.order_return_id}: {self.line_id} × {self.base_quantity}"


class ExternalSkuMapping(models.Model):
    """Maps a marketplace's SKU code to ours, for the marketplace feed adapter."""

    source = models.CharField(_("marketplace"), max_length=32)
    external_code = models.CharField(_("external SKU code"), max_length=64)
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    unit_code = models.CharField(_("unit"), max_length=16, default="")

    class Meta:
        verbose_name = _("external SKU mapping")
        verbose_name_plural = _("external SKU mappings")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_code"], name="external_sku_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_code} → {self.sku_id}"


class Cart(models.Model):
    """A user's working cart for one dealer (web, scan, reorder and quick order fill it)."""

    dealer = models.ForeignKey("accounts.Dealer", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dealer", "user"], name="cart_one_per_dealer_user")
        ]

    def __str__(self) -> str:
        return f"cart of {self.user_id} for {self.dealer_id}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    unit_code = models.CharField(max_length=16)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku", "unit_code"], name="cart_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} × {self.quantity} {self.unit_code}"
