from django.urls import path

from backoffice.reconciliation import views

app_name = "reconciliation"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("breaks/", views.breaks, name="breaks"),
    path("breaks/<int:pk>/", views.break_detail, name="break"),
    path("breaks/<int:pk>/assign/", views.assign, name="assign"),
    path("breaks/<int:pk>/comment/", views.comment, name="comment"),
    path("breaks/<int:pk>/resolve/", views.resolve, name="resolve"),
    path("runs/<int:pk>/export.csv", views.run_export, name="run-export"),
]
