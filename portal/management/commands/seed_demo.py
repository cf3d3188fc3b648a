"""Demo data: a company per package, a user of every role, integrations on the simulators, history.

The packages come from the connector registry: each gets the demo company its connector
declares (``demo_company``: De Vries, Jansen) or one named after it, on its simulator
with its connector's ``demo_settings``.

Idempotent: run it again and it updates what is there (passwords, memberships,
integration addresses) instead of adding more. Connecting needs the simulators
running (``python -m integrations.simulators all``); ``bin/demo`` starts them first.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from integrations.canonical import identifier_of
from integrations.canonical.examples import example_record, relation_code
from integrations.connectors.registry import get_connector_class
from integrations.models import Integration
from integrations.simulators.registry import simulator_names, simulator_url
from portal.models import Company, Membership, Role
from runs.models import DeliveryAttempt, LineStatus, Run, RunLine, RunStatus, Trigger
from runs.services.attempts import in_doubt_message
from runs.services.runs import NewLine, run_create

DEMO_CLIENT = {"client_id": "cloud-portal-demo", "client_secret": "demo-secret"}
HISTORY_RUNS = 12
# Memorable, yet past Django's common-password list; printed at the end of every run.
USERS = [
    # username, password, [(company slug, role)], superuser
    ("admin", "admin-portal-2026", [], True),
    (
        "consultant",
        "consultant-demo-2026",
        [("de-vries", Role.CONSULTANT), ("jansen", Role.CONSULTANT)],
        False,
    ),
    ("editor", "editor-devries-2026", [("de-vries", Role.EDITOR)], False),
    ("viewer", "viewer-devries-2026", [("de-vries", Role.VIEWER)], False),
    ("editor-jansen", "editor-jansen-2026", [("jansen", Role.EDITOR)], False),
]


@dataclass(frozen=True)
class SeedCompany:
    slug: str
    name: str
    reflex_code: str
    connector: str
    # Which of the package's demo administrations (``Connector.demo_settings``).
    administration: int = 0

    @property
    def settings(self) -> dict[str, Any]:
        administrations = get_connector_class(self.connector).demo_settings
        return dict(administrations[self.administration])

    @property
    def base_url(self) -> str:
        return simulator_url(self.connector)


def demo_companies() -> list[SeedCompany]:
    """One company per package with a simulator: the one its connector declares
    (``demo_company``), or one named after it; in the order of their Reflex codes."""
    companies = []
    for index, key in enumerate(simulator_names()):
        declared = get_connector_class(key).demo_company
        slug, name, code = (
            (declared.slug, declared.name, declared.reflex_code)
            if declared
            else (f"demo-{key}", f"Demo {get_connector_class(key).label}", f"RX{101 + index}")
        )
        companies.append(SeedCompany(slug, name, code, key))
    return sorted(companies, key=lambda company: company.reflex_code)


def desk_companies() -> list[tuple[SeedCompany, int]]:
    """The desk's companies and their record offsets, on the first package whose simulator
    holds a second administration (they share it)."""
    key = next(
        (key for key in simulator_names() if len(get_connector_class(key).demo_settings) > 1),
        None,
    )
    if key is None:
        return []
    return [
        (SeedCompany("pietersen", "Groenteboer Pietersen BV", "RX003", key, 1), 5000),
        (SeedCompany("visser", "Installatiebedrijf Visser BV", "RX004", key, 1), 6000),
    ]


# The consultant's desk (issue 12): two more companies (``desk_companies``), each with a
# run whose invoices the package refuses for one shared reason (a VAT code it does not
# know), so a whole reason group can be fixed from the overview. Record numbers are offset
# per company: they share the simulator's second administration.
DESK_FAILING_INVOICES = 30


class Command(BaseCommand):
    help = "Create or refresh the demo companies, users, integrations and run history."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-connect",
            action="store_true",
            help="Skip the OAuth flow against the simulators (they need not be running).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        demos = demo_companies()
        with transaction.atomic():
            companies = {demo.slug: _company(demo) for demo in demos}
            _users(companies)
            integrations = [_integration(demo, companies[demo.slug]) for demo in demos]
            for integration in integrations:
                _history(integration)
            integrations += _desk_companies()
            _mail_choices(integrations)
        if not options["no_connect"]:
            for integration in integrations:
                _connect(integration)
                self.stdout.write(f"Connected {integration} to {integration.base_url}.")
        self._print_logins(integrations)

    def _print_logins(self, integrations: list[Integration]) -> None:
        self.stdout.write("Demo logins (username / password):")
        for username, password, memberships, superuser in USERS:
            where = (
                "Django admin"
                if superuser
                else ", ".join(f"{role} of {slug}" for slug, role in memberships)
            )
            self.stdout.write(f"  {username:<14} {password:<22} {where}")
        for integration in integrations:
            self.stdout.write(f"Integration {integration.pk}: {integration}")


def _company(demo: SeedCompany) -> Company:
    company, _ = Company.objects.update_or_create(
        slug=demo.slug, defaults={"name": demo.name, "reflex_code": demo.reflex_code}
    )
    return company


def _users(companies: dict[str, Company]) -> None:
    model = get_user_model()
    for username, password, memberships, superuser in USERS:
        user, _ = model.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = user.is_superuser = superuser
        user.email = f"{username}@example.com"
        user.save()
        for slug, role in memberships:
            if slug not in companies:
                continue  # its package is not installed
            Membership.objects.update_or_create(
                user=user, company=companies[slug], defaults={"role": role}
            )


# Languages of the failure mails; the rest keep English. Subscriptions stay the role's
# default (editors and consultants: each run with failures; the viewer: a daily summary).
MAIL_LANGUAGES = {"editor": "nl", "editor-jansen": "nl", "viewer": "nl", "consultant": "en"}
# The bookkeeper's shared mailbox hears of De Vries' failures too (an extra address).
EXTRA_ADDRESSES = {"de-vries": ("boekhouding@bakkerijdevries.example", "nl")}


def _mail_choices(integrations: list[Integration]) -> None:
    from notifications.models import ExtraRecipient, MailPreference

    for username, language in MAIL_LANGUAGES.items():
        user = get_user_model().objects.get(username=username)
        MailPreference.objects.update_or_create(user=user, defaults={"language": language})
    for integration in integrations:
        extra = EXTRA_ADDRESSES.get(integration.company.slug)
        if extra is not None:
            ExtraRecipient.objects.update_or_create(
                integration=integration, email=extra[0], defaults={"language": extra[1]}
            )


def _integration(demo: SeedCompany, company: Company) -> Integration:
    integration = Integration.objects.filter(company=company, connector=demo.connector).first()
    if integration is None:
        integration = Integration(company=company, connector=demo.connector)
        integration.name = "Accounting link"
        integration.credentials = dict(DEMO_CLIENT)
    integration.base_url = demo.base_url
    integration.settings = demo.settings
    integration.enabled = True
    # Open items every few minutes, so the demo shows imports soon (30 by default).
    integration.open_items_interval = settings.DEMO_OPEN_ITEMS_INTERVAL or 30
    integration.full_clean()
    integration.save()
    return integration


def _history(integration: Integration) -> None:
    """A dozen finished runs over the past weeks, so History is not empty on day one."""
    if integration.runs.exists():
        return
    rng = random.Random(integration.connector)  # the same history on every machine
    connector = integration.connector_class
    now = timezone.now()
    kinds = ["customer", "sales_invoice", "sales_invoice", "purchase_invoice", "journal_entry"]
    counter = 0
    for number in range(1, HISTORY_RUNS + 1):
        queued = now - timedelta(days=(HISTORY_RUNS - number) * 2 + 1, hours=rng.randint(0, 8))
        run = Run.objects.create(integration=integration, number=number, trigger=Trigger.INTAKE)
        lines = []
        for position in range(1, rng.randint(5, 25) + 1):
            counter += 1
            kind = kinds[counter % len(kinds)]
            record = json.loads(
                json.dumps(example_record(kind, 1000 + counter), cls=DjangoJSONEncoder)
            )
            # Every fourth run had a line the package refused; it was fixed in a later run.
            failed = number % 4 == 0 and position == 1
            lines.append(
                RunLine(
                    run=run,
                    integration=integration,
                    position=position,
                    kind=kind,
                    identifier=identifier_of(kind, record),
                    payload=record,
                    status=LineStatus.FAILED if failed else LineStatus.SUCCEEDED,
                    message="Rekening 9999 bestaat niet." if failed else "",
                    external_id="" if failed else str(50000 + counter),
                    attempts=1,
                    finished_at=queued + timedelta(seconds=position),
                    resolved_at=queued + timedelta(days=1) if failed else None,
                    resolution="Booked by hand in the package." if failed else "",
                )
            )
        if number == HISTORY_RUNS and "journal_entry" not in connector.findable:
            lines.append(_in_doubt_line(run, integration, len(lines) + 1, queued))
        RunLine.objects.bulk_create(lines)
        failed_count = sum(1 for line in lines if line.status == LineStatus.FAILED)
        doubtful = sum(1 for line in lines if line.status == LineStatus.IN_DOUBT)
        DeliveryAttempt.objects.bulk_create(
            _lost_answer(line, integration) for line in lines if line.status == LineStatus.IN_DOUBT
        )
        # queued_at is auto_now_add, so the past is written with an update.
        Run.objects.filter(pk=run.pk).update(
            status=RunStatus.FINISHED,
            queued_at=queued,
            started_at=queued + timedelta(seconds=2),
            finished_at=queued + timedelta(seconds=2 + len(lines)),
            total=len(lines),
            succeeded=len(lines) - failed_count - doubtful,
            failed=failed_count,
            in_doubt=doubtful,
        )
    Integration.objects.filter(pk=integration.pk).update(last_run_number=HISTORY_RUNS)


def _in_doubt_line(run: Run, integration: Integration, position: int, queued: datetime) -> RunLine:
    """A journal entry the package booked but whose answer was lost, in a package that
    documents no way to find a journal entry (Multivers): it waits for a person, as the
    engine leaves such a line (docs/delivery.md), so the demo shows that decision too."""
    record = json.loads(json.dumps(example_record("journal_entry", 900), cls=DjangoJSONEncoder))
    return RunLine(
        run=run,
        integration=integration,
        position=position,
        kind="journal_entry",
        identifier=identifier_of("journal_entry", record),
        payload=record,
        status=LineStatus.IN_DOUBT,
        in_doubt=True,
        message=in_doubt_message(integration.connector_label),
        attempts=1,
        finished_at=queued + timedelta(seconds=position),
    )


def _lost_answer(line: RunLine, integration: Integration) -> DeliveryAttempt:
    """The one offer of a line in doubt: sent, and the connection broke off before the
    answer came (the connector's own words for it)."""
    label = integration.connector_label
    return DeliveryAttempt(
        line=line,
        number=1,
        started_at=(line.finished_at or timezone.now()) - timedelta(seconds=30),
        duration_ms=30_000,
        outcome=DeliveryAttempt.Outcome.IN_DOUBT,
        message=(
            f"The connection to {label} broke off after the record was sent "
            "(RemoteProtocolError); it may have been booked."
        ),
    )


def _connect(integration: Integration) -> None:
    """Run the OAuth authorization-code flow against the simulator and store the tokens.

    The simulator grants at once, so the "browser" step is a GET whose redirect
    carries the code; the rest is exactly what the portal's Connect button does.
    """
    try:
        from integrations.credentials import connector_for
        from integrations.oauth import oauth_redirect_uri
        from integrations.services import integration_connect
    except ImportError as exc:
        raise CommandError(
            f"Cannot connect the demo integrations: {exc}. Run with --no-connect, "
            "or finish the connector engine first."
        ) from None
    redirect_uri = oauth_redirect_uri(integration=integration)
    connector = connector_for(integration)
    url = connector.authorize_url(redirect_uri=redirect_uri, state="seed-demo")
    try:
        answer = httpx.get(url, follow_redirects=False, timeout=10)
    except httpx.HTTPError as exc:
        raise CommandError(
            f"The simulator at {integration.base_url} does not answer ({exc}); start it with "
            "`python -m integrations.simulators all`, or run seed_demo --no-connect."
        ) from None
    query = parse_qs(urlsplit(answer.headers.get("location", "")).query)
    if "code" not in query:
        raise CommandError(
            f"{url} gave no authorization code: {answer.status_code} {query or answer.text[:200]}"
        )
    integration_connect(
        integration=integration,
        tokens=connector.exchange_code(code=query["code"][0], redirect_uri=redirect_uri),
    )


def _desk_companies() -> list[Integration]:
    """The desk's companies, the consultant a member of each, with their failing run."""
    consultant = get_user_model().objects.get(username="consultant")
    integrations = []
    for demo, offset in desk_companies():
        company = _company(demo)
        Membership.objects.update_or_create(
            user=consultant, company=company, defaults={"role": Role.CONSULTANT}
        )
        integration = _integration(demo, company)
        _desk_failing_run(integration, offset)
        integrations.append(integration)
    return integrations


def _desk_failing_run(integration: Integration, offset: int) -> None:
    """Customers, then their invoices with VAT codes no demo administration has (70 … 74):
    booked by the worker once it starts, the invoices fail for real with one reason (the
    package's "no such VAT code"), and a consultant fixes them at once (VAT code 2)."""
    if integration.runs.exists():
        return

    def line(kind: str, n: int, vat_code: str | None = None) -> NewLine:
        record = json.loads(
            json.dumps(
                example_record(kind, offset + n, package=integration.connector),
                cls=DjangoJSONEncoder,
            )
        )
        if vat_code is not None:
            record["lines"][0]["vat_code"] = vat_code
            record["relation_code"] = relation_code(offset + n, customer=True)
        return NewLine(kind=kind, identifier=identifier_of(kind, record), payload=record)

    run_create(
        integration=integration,
        trigger=Trigger.INTAKE,
        lines=[line("customer", n) for n in range(DESK_FAILING_INVOICES)]
        + [
            line("sales_invoice", n, vat_code=str(70 + n % 5)) for n in range(DESK_FAILING_INVOICES)
        ],
    )
