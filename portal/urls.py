from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from notifications.urls import company_urlpatterns as notification_company_urls
from portal import audit_views, mfa_views, overview, views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        views.PortalLoginView.as_view(),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-step/", mfa_views.mfa_setup, name="mfa_setup"),
    path("accounts/two-step/code/", mfa_views.mfa_verify, name="mfa_verify"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("companies/", views.my_company, name="my_company"),
    path("overview/", overview.overview, name="overview"),
    path("c/<slug:company_slug>/audit/", audit_views.audit_log, name="audit_log"),
    path("c/<slug:company_slug>/", include("integrations.urls")),
    path("c/<slug:company_slug>/", include("runs.urls")),
    path("c/<slug:company_slug>/", include(notification_company_urls)),
    path("", include("notifications.urls")),
    path("api/v1/", include("runs.api_urls")),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for it on pages without our <link rel="icon">, such as the admin.
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
