"""Start a run by hand: a consultant uploads an export file Reflex 3000 wrote (CSV or JSON).

The file goes through the intake API's own service, so it is read and checked exactly
as if the ERP had sent it: taken whole as one queued run, or refused whole with every
problem named and nothing stored.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from integrations.models import Integration
from portal.models import Membership, Role
from portal.tenancy import company_view, get_integration
from runs.models import Trigger
from runs.services.intake import (
    IntakeError,
    body_hash,
    check_size,
    intake_accept,
    records_from_file,
)
from runs.views.requests import HtmxHttpRequest, authenticated


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Export file"),
        help_text=gettext_lazy(
            "A CSV export of Reflex 3000, or a JSON batch in the intake API's format."
        ),
        widget=forms.FileInput(attrs={"accept": ".csv,.json", "aria-describedby": "upload-help"}),
    )


def _render(
    request: HtmxHttpRequest, integration: Integration, form: UploadForm, **context: Any
) -> HttpResponse:
    return render(
        request,
        "integrations/upload.html",
        {
            "integration": integration,
            "form": form,
            "max_lines": settings.INTAKE_MAX_LINES,
            "max_bytes": settings.INTAKE_MAX_BYTES,
            **context,
        },
    )


@require_http_methods(["GET", "POST"])
@company_view(Role.CONSULTANT)
def integration_upload(
    request: HtmxHttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    integration = get_integration(membership, integration_id)
    if request.method == "GET":
        return _render(request, integration, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, integration, form)
    upload = form.cleaned_data["file"]
    try:
        check_size(upload.size or 0)
        content = upload.read()
        result = intake_accept(
            integration=integration,
            records=records_from_file(name=upload.name or "", content=content),
            idempotency_key=None,
            digest=body_hash(content),
            trigger=Trigger.MANUAL,
            created_by=authenticated(request),
        )
    except IntakeError as refusal:
        return _render(
            request, integration, UploadForm(), refusal=refusal.body(), file_name=upload.name
        )
    run = result.run
    messages.success(
        request,
        ngettext(
            "Run #%(number)s started with %(count)d line.",
            "Run #%(number)s started with %(count)d lines.",
            run.total,
        )
        % {"number": run.number, "count": run.total},
    )
    return redirect("run_detail", company_slug=membership.company.slug, run_id=run.pk)
