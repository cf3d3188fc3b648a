"""Reads for notifications: who gets which mail, what a mail says, the mail log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db.models import QuerySet

from integrations.models import Integration
from notifications.models import (
    DEFAULT_FREQUENCY,
    ExtraRecipient,
    Frequency,
    Mail,
    MailPreference,
    Subscription,
)
from portal.models import Company, Membership, Role
from runs.models import Run, RunLine
from runs.reasons import reason_of

# Per reason, the identifiers a mail names (the rest are behind the run's link).
EXAMPLES_PER_REASON = 5
# Reasons listed in one mail; more are summed up in one sentence.
REASONS_SHOWN = 10
# Lines in doubt named one by one in a mail; the rest are counted.
IN_DOUBT_SHOWN = 10
MAIL_LOG_SIZE = 50


@dataclass(frozen=True)
class Recipient:
    address: str
    language: str
    user_id: int | None = None
    extra_recipient_id: int | None = None


@dataclass(frozen=True)
class MemberChoice:
    membership: Membership
    frequency: str
    is_default: bool

    @property
    def frequency_label(self) -> str:
        return str(Frequency(self.frequency).label)


def language_of(*, user_id: int) -> str:
    language = (
        MailPreference.objects.filter(user_id=user_id).values_list("language", flat=True).first()
    )
    return language or settings.LANGUAGE_CODE


def member_choices(*, company: Company) -> list[MemberChoice]:
    """Every member of the company with the mail they chose, or their role's default."""
    chosen = dict(Subscription.objects.filter(company=company).values_list("user_id", "frequency"))
    memberships = Membership.objects.filter(company=company, user__is_active=True).select_related(
        "user", "user__mail_preference"
    )
    return [
        MemberChoice(
            membership=membership,
            frequency=chosen.get(membership.user_id, DEFAULT_FREQUENCY[Role(membership.role)]),
            is_default=membership.user_id not in chosen,
        )
        for membership in memberships.order_by("user__username")
    ]


def user_choices(*, user_id: int) -> list[MemberChoice]:
    """The user's own memberships with the mail they chose, or their role's default."""
    chosen = dict(
        Subscription.objects.filter(user_id=user_id).values_list("company_id", "frequency")
    )
    memberships = Membership.objects.filter(user_id=user_id).select_related("company", "user")
    return [
        MemberChoice(
            membership=membership,
            frequency=chosen.get(membership.company_id, DEFAULT_FREQUENCY[Role(membership.role)]),
            is_default=membership.company_id not in chosen,
        )
        for membership in memberships.order_by("company__name")
    ]


def _member_recipients(choices: Iterable[MemberChoice]) -> list[Recipient]:
    recipients = []
    for choice in choices:
        user = choice.membership.user
        if not user.email:
            continue
        preference = getattr(user, "mail_preference", None)
        language = preference.language if preference else settings.LANGUAGE_CODE
        recipients.append(Recipient(address=user.email, language=language, user_id=user.pk))
    return recipients


def _extra_recipients(integration: Integration) -> list[Recipient]:
    return [
        Recipient(address=extra.email, language=extra.language, extra_recipient_id=extra.pk)
        for extra in ExtraRecipient.objects.filter(integration=integration)
    ]


def _unique(recipients: list[Recipient]) -> list[Recipient]:
    """One mail per address: a member also listed as an extra address gets it once."""
    seen: set[str] = set()
    unique = []
    for recipient in recipients:
        if recipient.address.lower() not in seen:
            seen.add(recipient.address.lower())
            unique.append(recipient)
    return unique


def failure_recipients(*, integration: Integration) -> list[Recipient]:
    """Who hears of each run with failed lines: members who chose it, and extra addresses."""
    choices = member_choices(company=integration.company)
    members = _member_recipients(c for c in choices if c.frequency == Frequency.EACH_RUN)
    return _unique(members + _extra_recipients(integration))


def fault_recipients(*, integration: Integration) -> list[Recipient]:
    """Who hears at once that a run stopped: editors and consultants not unsubscribed."""
    choices = member_choices(company=integration.company)
    members = _member_recipients(
        c for c in choices if c.membership.allows(Role.EDITOR) and c.frequency != Frequency.NOTHING
    )
    return _unique(members + _extra_recipients(integration))


def daily_recipients(*, company: Company) -> list[Recipient]:
    choices = member_choices(company=company)
    return _member_recipients(c for c in choices if c.frequency == Frequency.DAILY)


# --- what a mail says ----------------------------------------------------------------------


@dataclass
class ReasonGroup:
    reason: str
    count: int = 0
    # (line id, identifier) of the first lines, in run and line order.
    examples: list[tuple[int, str]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FailureReport:
    integration: Integration
    runs: Sequence[Run]
    groups: Sequence[ReasonGroup]  # the first REASONS_SHOWN, most lines first
    open_count: int
    more_reasons: int  # groups left out
    more_reasons_lines: int
    # Lines the package may or may not have booked, still undecided when the mail is
    # made: a person has to look in the package (docs/delivery.md, "in doubt").
    in_doubt_count: int = 0
    # (line id, identifier) of the first IN_DOUBT_SHOWN, in run and line order.
    in_doubt: Sequence[tuple[int, str]] = ()

    @property
    def needs_attention(self) -> bool:
        return bool(self.open_count or self.in_doubt_count)


def _report(
    integration: Integration, runs: Sequence[Run], lines: QuerySet[RunLine]
) -> FailureReport:
    """Group ``lines`` (open failures of ``integration``) by reason (``runs.reasons.reason_of``)."""
    rows = lines.order_by("run__number", "position").values_list(
        "pk", "identifier", "message", "field_errors"
    )
    groups: dict[str, ReasonGroup] = {}
    for line_id, identifier, message, field_errors in rows.iterator(chunk_size=2000):
        reason = reason_of(message)
        group = groups.setdefault(reason, ReasonGroup(reason=reason))
        group.count += 1
        if len(group.examples) < EXAMPLES_PER_REASON:
            group.examples.append((line_id, identifier))
        for name in field_errors or {}:
            if name not in group.fields:
                group.fields.append(name)
    ordered = sorted(groups.values(), key=lambda group: -group.count)
    shown, rest = ordered[:REASONS_SHOWN], ordered[REASONS_SHOWN:]
    return FailureReport(
        integration=integration,
        runs=runs,
        groups=shown,
        open_count=sum(group.count for group in ordered),
        more_reasons=len(rest),
        more_reasons_lines=sum(group.count for group in rest),
    )


def failure_report(*, integration: Integration, runs: Sequence[Run]) -> FailureReport:
    """The runs' failed lines still open, grouped by reason, and their lines still in doubt.

    Lines are read through the integration's own lines, so a mail can only ever name
    lines of the integration (and company) it is about.
    """
    run_ids = [run.pk for run in runs]
    lines = RunLine.objects.open_failures(integration=integration.pk).filter(run__in=run_ids)
    report = _report(integration, runs, lines)
    if not any(run.in_doubt for run in runs):  # the runs' counters: no query for most mails
        return report
    doubtful = RunLine.objects.in_doubt(integration=integration.pk).filter(run__in=run_ids)
    return _with_in_doubt(report, doubtful)


def _with_in_doubt(report: FailureReport, doubtful: QuerySet[RunLine]) -> FailureReport:
    """``report`` with the lines in doubt among ``doubtful``: how many, the oldest named."""
    count = doubtful.count()
    if not count:
        return report
    shown = doubtful.order_by("run__number", "position").values_list("pk", "identifier")
    return replace(report, in_doubt_count=count, in_doubt=list(shown[:IN_DOUBT_SHOWN]))


def assigned_report(*, integration: Integration, line_ids: Sequence[int]) -> FailureReport:
    """The assigned lines still open, grouped by reason as the failure mail groups them,
    and those still in doubt; read through the integration's own lines, so never another
    company's."""
    lines = RunLine.objects.open_failures(integration=integration.pk).filter(pk__in=list(line_ids))
    doubtful = RunLine.objects.in_doubt(integration=integration.pk).filter(pk__in=list(line_ids))
    return _with_in_doubt(_report(integration, [], lines), doubtful)


def assignment_mails_wanted(*, user_id: int) -> bool:
    """Whether the user wants a mail when lines are assigned to them (default yes)."""
    wanted = (
        MailPreference.objects.filter(user_id=user_id)
        .values_list("assignment_mails", flat=True)
        .first()
    )
    return wanted is None or wanted


def mail_log(*, integration: Integration) -> QuerySet[Mail]:
    """The integration's latest mails, newest first, for its consultants."""
    return Mail.objects.filter(integration=integration).order_by("-created_at", "-id")[
        :MAIL_LOG_SIZE
    ]
