"""The tenant console for accounts: dealers (scoped by the same selectors as the
API), users, and API keys (the secret is shown once, when the key is created)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError

from . import roles, selectors, services
from .models import ApiKey, ApiScope, Dealer, DealerAddress, DealerContact, User


class DealerAddressInline(admin.StackedInline):
    model = DealerAddress
    extra = 0


class DealerContactInline(admin.TabularInline):
    model = DealerContact
    extra = 0


class DealerForm(forms.ModelForm):
    class Meta:
        model = Dealer
        fields = (
            "code",
            "name",
            "parent",
            "tier",
            "region",
            "status",
            "currency",
            "credit_limit",
            "payment_terms",
            "tax_id",
            "email",
            "phone",
            "sales_reps",
        )

    def clean(self):
        data = super().clean()
        fields = {k: data.get(k) for k in services.DEALER_FIELDS if k in data}
        try:
            cleaned = services._clean_dealer_fields(
                fields, instance=self.instance if self.instance.pk else None
            )
            data.update(cleaned)
        except DomainError as exc:
            for error in getattr(exc, "errors", None) or [exc]:
                self.add_error(error.field if error.field in self.fields else None, error.message)
        parent = data.get("parent")
        if self.instance.pk and parent is not None:
            try:
                services._check_parent(self.instance, parent)
            except DomainError as exc:
                self.add_error("parent", exc.message)
        return data


@admin.register(Dealer)
class DealerAdmin(admin.ModelAdmin):
    form = DealerForm
    list_display = (
        "code",
        "name",
        "parent",
        "tier",
        "region",
        "status",
        "payment_terms",
        "credit_limit",
        "currency",
    )
    list_filter = ("status", "tier", "region", "payment_terms")
    search_fields = ("code", "name", "tax_id")
    ordering = ("path",)
    autocomplete_fields = ("parent",)
    filter_horizontal = ("sales_reps",)
    readonly_fields = ("path", "depth", "created_at", "updated_at")
    inlines = [DealerAddressInline, DealerContactInline]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(pk__in=selectors.visible_dealer_ids(request.user)).select_related("parent")

    def save_model(self, request, obj, form, change):
        if not change and obj.status != "closed":
            services.enforce_plan_limit("dealers")
        super().save_model(request, obj, form, change)

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except DomainError as exc:  # the plan's dealer limit
            self.message_user(request, exc.message, messages.ERROR)
            from django.shortcuts import redirect

            return redirect("admin:accounts_dealer_changelist")


class _RoleDealerMixin:
    """A dealer role needs a dealer, other roles drop theirs: the service's rule
    (``services.role_dealer``), shown as the form's field errors."""

    def clean(self):
        data = super().clean()
        if data.get("role"):
            try:
                data["dealer"] = services.role_dealer(data["role"], data.get("dealer"))
            except DomainError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


class UserChangeForm(_RoleDealerMixin, auth_forms.UserChangeForm):
    pass


class UserAddForm(_RoleDealerMixin, auth_forms.AdminUserCreationForm):
    pass


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    list_display = ("username", "email", "role", "dealer", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "email", "first_name", "last_name", "dealer__code")
    autocomplete_fields = ("dealer",)
    # The console flags (staff status, superuser) and the role's group follow
    # from the role (core.accounts.roles); further groups a tenant made itself
    # can still be given here.
    fieldsets = (
        *(
            (title, {**options, "fields": ("is_active", "groups", "user_permissions")})
            if "is_superuser" in options["fields"]
            else (title, options)
            for title, options in DjangoUserAdmin.fieldsets
        ),
        (gettext_lazy("Dinghuo"), {"fields": ("role", "dealer", "phone")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "role", "dealer", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request):
        return selectors.users_visible_to(request.user).select_related("dealer")

    def save_model(self, request, obj, form, change):
        roles.apply_role_flags(obj)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # the form's groups first
        roles.assign_role_group(form.instance)  # then the role's group, whatever was ticked


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("scopes"),
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("What the integration may read and write."),
    )

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "expires_at")


class ApiKeyChangeForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Create a key (choose its scopes; the secret is shown on the next page, once,
    and only its hash is kept), rename it or revoke it."""

    list_display = (
        "name",
        "prefix",
        "scope_list",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "is_live",
    )
    search_fields = ("name", "prefix")
    actions = ["revoke"]
    readonly_fields = (
        "prefix",
        "scope_list",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = ApiKeyChangeForm if obj is not None else ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "scopes", "expires_at")
        return ("name", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    @admin.display(description=gettext_lazy("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.display(description=gettext_lazy("live"), boolean=True)
    def is_live(self, obj):
        return obj.revoked_at is None and (
            obj.expires_at is None or obj.expires_at > timezone.now()
        )

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.create_api_key(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,
            expires_at=form.cleaned_data.get("expires_at"),
        )
        obj.__dict__.update(
            {k: v for k, v in created.api_key.__dict__.items() if not k.startswith("_")}
        )
        obj._state.adding = False
        request._api_key_secret = created.secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_api_key_secret", None)
        if secret is None:  # pragma: no cover - save_model always sets it
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/accounts/apikey/secret.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Copy the new API key"),
                "key": obj,
                "secret": secret,
                "opts": self.model._meta,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=gettext_lazy("Revoke the selected keys"))
    def revoke(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            services.revoke_api_key(key)
            count += 1
        self.message_user(request, _("%(n)d keys revoked.") % {"n": count}, messages.SUCCESS)
