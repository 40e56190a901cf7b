"""URL patterns of the portal (public host) and of the console (tenant host)."""

from django.urls import path

from . import console, views

public_urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup_view, name="signup"),
    path("signup/check/", views.signup_check, name="signup-check"),
    path("billing/webhook/", views.stripe_webhook, name="stripe-webhook"),
]

tenant_urlpatterns = [
    path("login/handoff/", console.login_handoff, name="login-handoff"),
    path("billing/", console.billing_page, name="billing"),
    path("billing/start/<slug:plan_code>/", console.billing_start, name="billing-start"),
    path("billing/checkout/", console.billing_checkout, name="billing-checkout"),
    path("billing/portal/", console.billing_portal, name="billing-portal"),
    path("billing/modules/", console.billing_modules, name="billing-modules"),
]
