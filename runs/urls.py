from django.urls import path

from runs.views import line_detail, run_detail

urlpatterns = [
    path("runs/<int:run_id>/", run_detail.run_detail, name="run_detail"),
    path("runs/<int:run_id>/progress/", run_detail.run_progress, name="run_progress"),
    path("runs/<int:run_id>/retry/", run_detail.run_retry_view, name="run_retry"),
    path("runs/<int:run_id>/resume/", run_detail.run_resume_view, name="run_resume"),
    path("runs/<int:run_id>/lines/bulk/", run_detail.lines_bulk, name="lines_bulk"),
    path("lines/<int:line_id>/", line_detail.line_detail, name="line_detail"),
]
