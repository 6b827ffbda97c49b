from django.urls import path

from backoffice.identity import views

app_name = "identity"

urlpatterns = [
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signout/", views.sign_out, name="signout"),
    path("signed-out/", views.signed_out, name="signed-out"),
]
