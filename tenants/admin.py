"""The platform admin on the public host: tenants with plan, status and usage;
suspend, resume and delete (with the schema name typed back) through
:mod:`tenants.services`; plans, subscriptions and Stripe events.

It is a separate :class:`AdminSite` mounted only in ``config.urls_public``:
the tenant console (``admin.site`` on tenant hosts) never shows tenants.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import connection
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.accounts.models import User
from core.exceptions import DomainError

from .limits import usage_summary
from .models import Domain, Plan, StripeEvent, Subscription, Tenant
from .plans import MODULES, check_modules, plan_for_tenant, plan_label
from .services import ConfirmationRequired, delete_tenant, resume_tenant, suspend_tenant


class PlatformAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Dinghuo platform administration")
    site_title = gettext_lazy("Dinghuo platform")
    index_title = gettext_lazy("Tenants, plans and billing")

    def has_permission(self, request) -> bool:
        return (
            super().has_permission(request)
            and connection.schema_name == settings.PUBLIC_SCHEMA_NAME
        )


platform_site = PlatformAdminSite(name="platform")
platform_site.register(User, UserAdmin)
platform_site.register(Group, GroupAdmin)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class TenantForm(forms.ModelForm):
    modules = forms.MultipleChoiceField(
        label=gettext_lazy("Industry modules"),
        required=False,
        choices=list(MODULES.items()),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Tenant
        fields = ["name", "modules"]

    def clean_modules(self):
        try:
            return check_modules(plan_for_tenant(self.instance), self.cleaned_data["modules"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


def _is_public(tenant: Tenant) -> bool:
    return tenant.schema_name == settings.PUBLIC_SCHEMA_NAME


@admin.register(Tenant, site=platform_site)
class TenantAdmin(admin.ModelAdmin):
    form = TenantForm
    list_display = [
        "name",
        "schema_name",
        "primary_domain",
        "plan",
        "billing_status",
        "status",
        "usage",
        "created_at",
    ]
    list_filter = ["status", "subscription__plan"]
    search_fields = ["name", "schema_name", "domains__domain"]
    readonly_fields = ["schema_name", "status", "created_at", "suspended_at", "usage"]
    inlines = [DomainInline]
    actions = ["suspend_selected", "resume_selected", "delete_with_confirmation"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("subscription__plan")
            .prefetch_related("domains")
        )

    def has_add_permission(self, request) -> bool:
        return False  # tenants are made by the signup portal or `manage.py create_tenant`

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # only through "delete with confirmation", which drops the schema

    @admin.display(description=gettext_lazy("domain"))
    def primary_domain(self, obj: Tenant) -> str:
        domains = [d.domain for d in obj.domains.all() if d.is_primary]
        return domains[0] if domains else "-"

    @admin.display(description=gettext_lazy("plan"))
    def plan(self, obj: Tenant) -> str:
        sub = getattr(obj, "subscription", None)
        if sub is None:
            return _("none (unlimited)")
        return plan_label(sub.plan)

    @admin.display(description=gettext_lazy("billing"))
    def billing_status(self, obj: Tenant) -> str:
        sub = getattr(obj, "subscription", None)
        return sub.get_status_display() if sub else "-"

    @admin.display(description=gettext_lazy("usage"))
    def usage(self, obj: Tenant) -> str:
        if _is_public(obj):
            return "-"
        parts = []
        for row in usage_summary(obj):
            limit = "∞" if row["limit"] is None else row["limit"]
            parts.append(f"{row['label']} {row['used']}/{limit}")
        return " · ".join(parts)

    @admin.action(description=gettext_lazy("Suspend selected tenants"))
    def suspend_selected(self, request, queryset):
        done = 0
        for tenant in queryset:
            if _is_public(tenant):
                self.message_user(
                    request, _("The platform's own tenant cannot be suspended."), messages.ERROR
                )
                continue
            suspend_tenant(tenant)
            done += 1
        if done:
            self.message_user(
                request, _("%(count)d tenant(s) suspended.") % {"count": done}, messages.SUCCESS
            )

    @admin.action(description=gettext_lazy("Resume selected tenants"))
    def resume_selected(self, request, queryset):
        done = 0
        for tenant in queryset:
            if _is_public(tenant):
                continue
            resume_tenant(tenant)
            Subscription.objects.filter(tenant=tenant).update(suspended_by_billing=False)
            done += 1
        self.message_user(
            request, _("%(count)d tenant(s) resumed.") % {"count": done}, messages.SUCCESS
        )

    @admin.action(description=gettext_lazy("Delete selected tenants (asks for confirmation)"))
    def delete_with_confirmation(self, request, queryset):
        tenants = [t for t in queryset if not _is_public(t)]
        if len(tenants) != queryset.count():
            self.message_user(
                request, _("The platform's own tenant cannot be deleted."), messages.ERROR
            )
        errors: dict[int, str] = {}
        if request.POST.get("confirmed") == "yes":
            deleted = []
            for tenant in tenants:
                typed = request.POST.get(f"confirm_{tenant.pk}", "").strip()
                try:
                    delete_tenant(tenant, confirm=typed)
                except ConfirmationRequired as exc:
                    errors[tenant.pk] = str(exc)
                else:
                    deleted.append(tenant.schema_name)
            if deleted:
                self.message_user(
                    request,
                    _("Deleted tenants and their data: %(names)s.") % {"names": ", ".join(deleted)},
                    messages.SUCCESS,
                )
            if not errors:
                return None
            tenants = [t for t in tenants if t.pk in errors]
        if not tenants:
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Delete tenants"),
            "opts": self.model._meta,
            "rows": [(t, errors.get(t.pk, "")) for t in tenants],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "action": "delete_with_confirmation",
        }
        return TemplateResponse(request, "admin/tenants/tenant/delete_confirmation.html", context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Plan, site=platform_site)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "monthly_price",
        "currency",
        "stripe_price_id",
        "trial_days",
        "max_dealers",
        "max_skus",
        "max_orders_per_month",
        "max_modules",
        "is_active",
    ]
    list_editable = ["stripe_price_id", "is_active"]


@admin.register(Subscription, site=platform_site)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "tenant",
        "plan",
        "requested_plan",
        "status",
        "trial_ends_at",
        "past_due_since",
        "stripe_customer_id",
    ]
    list_filter = ["status", "plan"]
    search_fields = ["tenant__schema_name", "tenant__name", "billing_email", "stripe_customer_id"]
    readonly_fields = [
        "stripe_customer_id",
        "stripe_subscription_id",
        "stripe_state_at",
        "checkout_attempt",
        "created_at",
        "updated_at",
    ]


@admin.register(StripeEvent, site=platform_site)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "tenant", "outcome", "created", "received_at"]
    list_filter = ["type", "outcome"]
    search_fields = ["event_id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
