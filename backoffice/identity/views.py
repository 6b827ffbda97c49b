from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_POST

from backoffice.identity.forms import LocalSignInForm


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    """Local mode: the password form. SSO modes: a page saying to come in through the SSO proxy."""

    template_name = "identity/signin.html"
    authentication_form = LocalSignInForm
    redirect_authenticated_user = True

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if settings.SSO_MODE != "local":
            if request.user.is_authenticated:
                return redirect(settings.LOGIN_REDIRECT_URL)
            return render(request, "identity/sso_required.html", status=401)
        return super().dispatch(request, *args, **kwargs)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import logout

    logout(request)
    if settings.SSO_MODE != "local" and settings.SSO_SIGNOUT_URL:
        return redirect(settings.SSO_SIGNOUT_URL)
    return redirect("identity:signed-out")


@login_not_required
@require_GET
def signed_out(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/signed_out.html")
