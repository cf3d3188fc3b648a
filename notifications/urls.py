from django.urls import path

from notifications import views

urlpatterns = [
    path("notifications/", views.notification_settings, name="notification_settings"),
    path("mail/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

# Mounted under ``c/<slug:company_slug>/``.
company_urlpatterns = [
    path(
        "integrations/<int:integration_id>/mail/",
        views.integration_mail,
        name="integration_mail",
    ),
    path(
        "integrations/<int:integration_id>/mail/test/",
        views.integration_mail_test,
        name="integration_mail_test",
    ),
]
