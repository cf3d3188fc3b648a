"""What a mail says: subject, plain text and HTML, rendered in the recipient's language."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, ngettext_lazy

from integrations.models import Integration
from notifications.models import Mail, MailKind
from notifications.selectors import FailureReport, assigned_report, failure_report
from notifications.services import unsubscribe_token
from runs.models import Run, RunStatus


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _run_url(run: Run, slug: str) -> str:
    # failed=1: the run details open with Show only failed ticked.
    path = reverse("run_detail", kwargs={"company_slug": slug, "run_id": run.pk})
    return _absolute(f"{path}?failed=1")


def _report_context(report: FailureReport) -> dict[str, Any]:
    slug = report.integration.company.slug
    return {
        "integration": report.integration,
        "runs": [{"run": run, "url": _run_url(run, slug)} for run in report.runs],
        "groups": [
            {
                "reason": group.reason,
                "count": group.count,
                "fields": group.fields,
                "more": group.count - len(group.examples),
                "examples": [
                    {
                        "identifier": identifier,
                        "url": _absolute(
                            reverse(
                                "line_detail", kwargs={"company_slug": slug, "line_id": line_id}
                            )
                        ),
                    }
                    for line_id, identifier in group.examples
                ],
            }
            for group in report.groups
        ],
        "open_count": report.open_count,
        "in_doubt_count": report.in_doubt_count,
        "in_doubt": [
            {
                "identifier": identifier,
                "url": _absolute(
                    reverse("line_detail", kwargs={"company_slug": slug, "line_id": line_id})
                ),
            }
            for line_id, identifier in report.in_doubt
        ],
        "in_doubt_more": report.in_doubt_count - len(report.in_doubt),
        "more_reasons": report.more_reasons,
        "more_reasons_lines": report.more_reasons_lines,
        "open_failures_url": _absolute(
            reverse(
                "open_failures",
                kwargs={"company_slug": slug, "integration_id": report.integration.pk},
            )
        ),
    }


def _reports(mail: Mail) -> list[FailureReport]:
    """Per integration the mail covers, its runs' open failures (only the mail's company)."""
    if mail.kind == MailKind.ASSIGNED:
        if mail.integration is None or mail.integration.company_id != mail.company_id:
            return []
        line_ids = list(mail.lines.values_list("pk", flat=True))
        return [assigned_report(integration=mail.integration, line_ids=line_ids)]
    runs = list(
        mail.runs.filter(integration__company=mail.company)
        .select_related("integration__company")
        .order_by("integration_id", "number")
    )
    by_integration: dict[int, tuple[Integration, list[Run]]] = {}
    for run in runs:
        by_integration.setdefault(run.integration_id, (run.integration, []))[1].append(run)
    return [
        failure_report(integration=integration, runs=group)
        for integration, group in by_integration.values()
    ]


def _subject(mail: Mail, reports: list[FailureReport], *, waiting: bool) -> str:
    company = mail.company.name
    if mail.kind == MailKind.TEST:
        return _("Test mail from Cloud Portal — %(company)s") % {"company": company}
    if mail.kind == MailKind.RUN_FAULT:
        run = reports[0].runs[0] if reports else mail.runs.first()
        if waiting:
            return _("Run #%(number)s of %(integration)s is waiting — %(company)s") % {
                "number": run.number if run else "?",
                "integration": mail.integration.name if mail.integration else "",
                "company": company,
            }
        return _("Run #%(number)s of %(integration)s stopped — %(company)s") % {
            "number": run.number if run else "?",
            "integration": mail.integration.name if mail.integration else "",
            "company": company,
        }
    count = sum(report.open_count for report in reports)
    if mail.kind == MailKind.ASSIGNED:
        count += sum(report.in_doubt_count for report in reports)
        return ngettext(
            "%(count)s line of %(integration)s assigned to you — %(company)s",
            "%(count)s lines of %(integration)s assigned to you — %(company)s",
            count,
        ) % {
            "count": count,
            "integration": mail.integration.name if mail.integration else "",
            "company": company,
        }
    # What the mail is about: failed lines, or (nothing failed, or it was all fixed
    # meanwhile) lines in doubt only.
    about = "failed" if count else "in_doubt"
    if about == "in_doubt":
        count = sum(report.in_doubt_count for report in reports)
    if mail.kind == MailKind.DAILY:
        return _SUBJECTS[about, "daily"] % {"count": count, "company": company}
    runs = reports[0].runs
    values = {
        "count": count,
        "runs": len(runs),
        "number": runs[0].number,
        "integration": reports[0].integration.name,
        "company": company,
    }
    return _SUBJECTS[about, "one run" if len(runs) == 1 else "runs"] % values


# The subjects of failure mails and daily summaries, translated when formatted (the
# recipient's language is active then); "count" picks the plural.
_SUBJECTS = {
    ("failed", "daily"): ngettext_lazy(
        "Daily summary: %(count)s line failed — %(company)s",
        "Daily summary: %(count)s lines failed — %(company)s",
        "count",
    ),
    ("failed", "one run"): ngettext_lazy(
        "%(count)s line failed in run #%(number)s of %(integration)s — %(company)s",
        "%(count)s lines failed in run #%(number)s of %(integration)s — %(company)s",
        "count",
    ),
    ("failed", "runs"): ngettext_lazy(
        "%(count)s line failed in %(runs)s runs of %(integration)s — %(company)s",
        "%(count)s lines failed in %(runs)s runs of %(integration)s — %(company)s",
        "count",
    ),
    ("in_doubt", "daily"): ngettext_lazy(
        "Daily summary: %(count)s line in doubt — %(company)s",
        "Daily summary: %(count)s lines in doubt — %(company)s",
        "count",
    ),
    ("in_doubt", "one run"): ngettext_lazy(
        "%(count)s line in doubt in run #%(number)s of %(integration)s — %(company)s",
        "%(count)s lines in doubt in run #%(number)s of %(integration)s — %(company)s",
        "count",
    ),
    ("in_doubt", "runs"): ngettext_lazy(
        "%(count)s line in doubt in %(runs)s runs of %(integration)s — %(company)s",
        "%(count)s lines in doubt in %(runs)s runs of %(integration)s — %(company)s",
        "count",
    ),
}


def _assigned_context(mail: Mail) -> dict[str, Any]:
    """Who assigned the lines, and the links to everything assigned to the recipient."""
    slug = mail.company.slug
    by = mail.assigned_by
    context: dict[str, Any] = {
        "assigned_by": (by.get_full_name() or by.get_username()) if by else _("someone"),
        # The overview's "Assigned to me" filter, across all the recipient's companies.
        "overview_url": _absolute(reverse("overview") + "?mine=1"),
    }
    if mail.integration is not None:
        path = reverse(
            "open_failures",
            kwargs={"company_slug": slug, "integration_id": mail.integration.pk},
        )
        context["assigned_to_me_url"] = _absolute(f"{path}?assigned=me")
    return context


def _waiting(mail: Mail) -> bool:
    """A run-level fault mail about a run that was not stopped: it waits for the package
    (its daily or error limit) and goes on by itself."""
    return mail.kind == MailKind.RUN_FAULT and mail.runs.exclude(status=RunStatus.FAILED).exists()


def mail_message(*, mail: Mail) -> EmailMultiAlternatives | None:
    """The message to send, or None when nothing is left to report (all fixed meanwhile)."""
    with translation.override(mail.language):
        reports = [] if mail.kind == MailKind.TEST else _reports(mail)
        if mail.kind in (MailKind.FAILURES, MailKind.DAILY, MailKind.ASSIGNED):
            reports = [report for report in reports if report.needs_attention]
            if not reports:
                return None
        # The one-click token turns failure mails off; assignment mails are turned off
        # on the Notifications page the footer links to.
        token = None if mail.kind == MailKind.ASSIGNED else unsubscribe_token(mail=mail)
        unsubscribe_url = _absolute(reverse("unsubscribe", args=[token])) if token else ""
        waiting = _waiting(mail)
        context = {
            "mail": mail,
            "company": mail.company,
            "integration": mail.integration,
            "reports": [_report_context(report) for report in reports],
            # Failed lines to correct, or only lines in doubt to look up in the package.
            "any_failed": any(report.open_count for report in reports),
            "reason": mail.reason,
            "waiting": waiting,
            "unsubscribe_url": unsubscribe_url,
            "notifications_url": _absolute(reverse("notification_settings")),
            "language": mail.language,
        }
        if mail.kind == MailKind.ASSIGNED:
            context.update(_assigned_context(mail))
        subject = _subject(mail, reports, waiting=waiting)
        context["subject"] = subject
        text = render_to_string(f"notifications/mail/{mail.kind}.txt", context)
        html = render_to_string(f"notifications/mail/{mail.kind}.html", context)
    # One Message-ID per outbox row: a mail sent again after a worker died in the middle
    # carries the same id, so mail programs show it once.
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    headers = {
        "Message-ID": f"<mail-{mail.pk}.{mail.company.slug}@{domain}>",
        "Auto-Submitted": "auto-generated",
    }
    if unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(subject, text, to=[mail.to_address], headers=headers)
    message.attach_alternative(html, "text/html")
    return message
