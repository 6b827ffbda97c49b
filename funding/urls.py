from django.urls import path

from funding import views

app_name = "funding"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.create, name="create"),
    path("free-cash/", views.free_cash, name="free-cash"),
    path("export.csv", views.export_csv, name="export"),
    path("balance/", views.balance, name="balance"),
    path("balance/top-ups/", views.top_up, name="top-up"),
    path("requests/<int:pk>/", views.request_page, name="request"),
    path("requests/<int:pk>/edit/", views.edit, name="edit"),
    path("requests/<int:pk>/send-for-approval/", views.send_for_approval, name="send-for-approval"),
    path("requests/<int:pk>/approve/", views.approve, name="approve"),
    path("requests/<int:pk>/decline/", views.decline, name="decline"),
    path("requests/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("requests/<int:pk>/send-again/", views.resend, name="resend"),
]
