"""The exchange's deliveries, mounted apart from the staff pages (under /webhooks/polymarket/)."""

from django.urls import path

from participants import views

app_name = "participants-webhooks"

urlpatterns = [path("kyc/", views.kyc_webhook, name="kyc")]
