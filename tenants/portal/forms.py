"""The signup form: every check the portal makes, as the user types and on submit."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.accounts.models import User
from core.exceptions import DomainError
from tenants.models import Plan
from tenants.plans import MODULES, billing_configured, check_modules, is_purchasable, plan_label
from tenants.services import ProvisioningError, validate_subdomain


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Plan) -> str:
        return plan_label(obj)


class SignupForm(forms.Form):
    company_name = forms.CharField(
        label=gettext_lazy("Company name"),
        max_length=200,
        error_messages={"required": gettext_lazy("Enter your company name.")},
    )
    subdomain = forms.CharField(
        label=gettext_lazy("Your address"),
        max_length=63,
        help_text=gettext_lazy("3 to 32 lowercase letters, digits or dashes."),
        error_messages={"required": gettext_lazy("Choose the address of your ordering site.")},
    )
    admin_name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=150,
        error_messages={"required": gettext_lazy("Enter your name.")},
    )
    email = forms.EmailField(
        # The tenant admin signs in with it: it is also the user name (150 characters).
        label=gettext_lazy("Work email"),
        max_length=User._meta.get_field("username").max_length,
        error_messages={
            "required": gettext_lazy("Enter your email address."),
            "invalid": gettext_lazy("Enter a valid email address, like name@company.com."),
        },
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(render_value=True),
        help_text=gettext_lazy("At least 8 characters; not only digits, not a common password."),
        error_messages={"required": gettext_lazy("Choose a password.")},
    )
    modules = forms.MultipleChoiceField(
        label=gettext_lazy("Industry modules"),
        required=False,
        choices=[(code, label) for code, label in MODULES.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": gettext_lazy("Unknown module: %(value)s.")},
    )
    plan = PlanChoiceField(
        label=gettext_lazy("Plan"),
        queryset=Plan.objects.filter(is_active=True),
        to_field_name="code",
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose a plan."),
            "invalid_choice": gettext_lazy("Choose one of the plans offered."),
        },
    )
    terms = forms.BooleanField(
        label=gettext_lazy("I accept the terms of service"),
        error_messages={"required": gettext_lazy("Accept the terms of service to continue.")},
    )

    def clean_company_name(self) -> str:
        value = self.cleaned_data["company_name"].strip()
        if not value:
            raise ValidationError(_("Enter your company name."), code="required")
        return value

    def clean_subdomain(self) -> str:
        try:
            return validate_subdomain(self.cleaned_data["subdomain"])
        except ProvisioningError as exc:
            raise ValidationError(str(exc), code=exc.code) from exc

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_plan(self) -> Plan:
        plan = self.cleaned_data["plan"]
        if not is_purchasable(plan):
            if not billing_configured():
                raise ValidationError(
                    _(
                        "Paid plans are not available yet: online payment is not configured. "
                        "Start with the free trial."
                    ),
                    code="BILLING_NOT_CONFIGURED",
                )
            raise ValidationError(_("This plan cannot be bought online yet."), code="INVALID")
        return plan

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if password:
            user = User(
                username=data.get("email", ""),
                email=data.get("email", ""),
                first_name=data.get("admin_name", ""),
            )
            try:
                validate_password(password, user)
            except ValidationError as exc:
                self.add_error(
                    "password", ValidationError(list(exc.messages), code="PASSWORD_TOO_WEAK")
                )
        plan = data.get("plan")
        if plan is not None and "modules" in data:
            try:
                data["modules"] = check_modules(plan, data["modules"])
            except DomainError as exc:
                self.add_error("modules", ValidationError(exc.message, code=exc.code))
        return data

    def errors_for(self, fields: list[str]) -> dict[str, list[str]]:
        """The messages of the named fields only (the as-you-type check)."""
        return {
            name: [str(m) for m in self.errors.get(name, [])]
            for name in fields
            if name in self.fields
        }
