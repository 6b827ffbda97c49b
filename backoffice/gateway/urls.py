from django.urls import path

from backoffice.gateway import views

app_name = "gateway"

urlpatterns = [path("health/", views.health, name="health")]
