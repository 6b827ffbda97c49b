from django.urls import path

from trading import views

app_name = "trading"

urlpatterns = [
    path("", views.blotter, name="blotter"),
    path("export.csv", views.export_csv, name="export"),
    path("orders/<str:exchange_id>/", views.order_page, name="order"),
    path("orders/<str:exchange_id>/cancel/", views.order_cancel, name="cancel"),
    path("participants/<int:pk>/balance/", views.balance_refresh, name="balance"),
]
