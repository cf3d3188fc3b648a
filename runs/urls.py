from django.urls import path

from runs.views import (
    assign,
    groups,
    history,
    line_detail,
    open_failures,
    records,
    run_detail,
    upload,
)

urlpatterns = [
    # The company's integrations with their recent runs, and one integration's History.
    path("integrations/", history.integration_list, name="integration_list"),
    path(
        "integrations/<int:integration_id>/history/",
        history.run_history,
        name="run_history",
    ),
    path("runs/<int:run_id>/", run_detail.run_detail, name="run_detail"),
    path("runs/<int:run_id>/progress/", run_detail.run_progress, name="run_progress"),
    path("runs/<int:run_id>/retry/", run_detail.run_retry_view, name="run_retry"),
    path("runs/<int:run_id>/resume/", run_detail.run_resume_view, name="run_resume"),
    path("runs/<int:run_id>/lines/bulk/", run_detail.lines_bulk, name="lines_bulk"),
    path("lines/<int:line_id>/", line_detail.line_detail, name="line_detail"),
    path("lines/<int:line_id>/assign/", assign.line_assign, name="line_assign"),
    # Integration-wide screens over runs: start one by hand, find a record, open failures.
    path(
        "integrations/<int:integration_id>/upload/",
        upload.integration_upload,
        name="integration_upload",
    ),
    path(
        "integrations/<int:integration_id>/records/",
        records.record_search_view,
        name="record_search",
    ),
    path(
        "integrations/<int:integration_id>/open/",
        open_failures.open_failures,
        name="open_failures",
    ),
    path(
        "integrations/<int:integration_id>/open/bulk/",
        open_failures.open_failures_bulk,
        name="open_failures_bulk",
    ),
    path(
        "integrations/<int:integration_id>/open/retry/",
        open_failures.open_failures_retry,
        name="open_failures_retry",
    ),
    # A reason group of the open failures: fix, re-offer, resolve or assign its lines at once.
    path(
        "integrations/<int:integration_id>/open/groups/<slug:group_key>/",
        groups.failure_group_view,
        name="failure_group",
    ),
    path(
        "integrations/<int:integration_id>/open/groups/<slug:group_key>/set-field/",
        groups.failure_group_set_field,
        name="failure_group_set_field",
    ),
    path(
        "integrations/<int:integration_id>/open/groups/<slug:group_key>/bulk/",
        groups.failure_group_bulk,
        name="failure_group_bulk",
    ),
    path(
        "integrations/<int:integration_id>/open/groups/<slug:group_key>/assign/",
        groups.failure_group_assign,
        name="failure_group_assign",
    ),
    path(
        "integrations/<int:integration_id>/open/groups/<slug:group_key>/retry/",
        groups.failure_group_retry,
        name="failure_group_retry",
    ),
]
