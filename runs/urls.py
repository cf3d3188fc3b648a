from django.urls import path

from runs.views import line_detail, open_failures, records, run_detail, upload

urlpatterns = [
    path("runs/<int:run_id>/", run_detail.run_detail, name="run_detail"),
    path("runs/<int:run_id>/progress/", run_detail.run_progress, name="run_progress"),
    path("runs/<int:run_id>/retry/", run_detail.run_retry_view, name="run_retry"),
    path("runs/<int:run_id>/resume/", run_detail.run_resume_view, name="run_resume"),
    path("runs/<int:run_id>/lines/bulk/", run_detail.lines_bulk, name="lines_bulk"),
    path("lines/<int:line_id>/", line_detail.line_detail, name="line_detail"),
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
]
