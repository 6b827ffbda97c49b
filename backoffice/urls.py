from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.decorators.http import require_GET
from django.views.generic import RedirectView

from backoffice import views

admin.site.site_header = "Back-office administration"
admin.site.site_title = "Back-office admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("search/", views.search, name="search"),
    path("search/admin/", views.search_admin, name="search-admin"),
    path("", include("backoffice.identity.urls")),
    path("audit/", include("backoffice.audit.urls")),
    path("gateway/", include("backoffice.gateway.urls")),
    path("reconciliation/", include("backoffice.reconciliation.urls")),
    # The admin never shows its own password form: everyone signs in the one way the mode allows.
    path(
        "admin/login/",
        login_not_required(
            require_GET(RedirectView.as_view(pattern_name=settings.LOGIN_URL, query_string=True))
        ),
    ),
    path("admin/", admin.site.urls),
    # The domain apps' pages, from settings: the platform names no domain app itself.
    *[path(prefix, include(module)) for prefix, module in settings.BACKOFFICE_URLCONFS],
]

handler403 = "backoffice.views.permission_denied"
