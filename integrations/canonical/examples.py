"""Realistic, valid canonical records for demo data, tests and benchmarks.

``example_record(kind, n)`` is deterministic: the same n gives the same record, and
different n give different identifiers. Invoices refer to relation
``n % EXAMPLE_RELATIONS`` of the matching kind, so seeding that many customers and
suppliers is enough for any number of invoices.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

EXAMPLE_RELATIONS = 100

_TRADES = (
    "Bakkerij",
    "Installatiebedrijf",
    "Transport",
    "Drukkerij",
    "Bouwbedrijf",
    "Groothandel",
    "Adviesbureau",
    "Metaalbewerking",
    "Tuincentrum",
    "Autobedrijf",
)
_FAMILY_NAMES = (
    "De Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "De Boer",
    "Mulder",
    "De Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
)
_LEGAL_FORMS = ("B.V.", "V.O.F.", "")
_STREETS = ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg", "Industrieweg", "Havenstraat")
# (city, first four digits of a postcode there, area code)
_PLACES = (
    ("Amsterdam", "1012", "020"),
    ("Rotterdam", "3011", "010"),
    ("Utrecht", "3511", "030"),
    ("Den Haag", "2511", "070"),
    ("Eindhoven", "5611", "040"),
    ("Groningen", "9711", "050"),
    ("Zwolle", "8011", "038"),
    ("Maastricht", "6211", "043"),
    ("Leeuwarden", "8911", "058"),
    ("Arnhem", "6811", "026"),
    ("Breda", "4811", "076"),
    ("Enschede", "7511", "053"),
)
_SALES_LINES = (
    ("8000", "Levering goederen"),
    ("8100", "Montagewerkzaamheden"),
    ("8200", "Servicecontract"),
)
_PURCHASE_LINES = (
    ("7000", "Inkoop materialen"),
    ("4300", "Huur bedrijfsruimte"),
    ("4500", "Advieskosten"),
)
_VAT_RATES = {"1": Decimal("0.21"), "2": Decimal("0.09")}
_CENT = Decimal("0.01")
_FIRST_DAY = date(2025, 1, 2)


def example_record(kind: str, n: int, *, package: str | None = None) -> dict[str, Any]:
    """Valid record number ``n`` (0, 1, 2 …) of ``kind``, as Reflex sends it to ``package``.

    Each package's administration has journals and accounts of its own: its connector's
    ``example_journals`` and ``example_accounts`` translate the generic examples.
    """
    builders = {
        "customer": lambda: _relation(n, customer=True),
        "supplier": lambda: _relation(n, customer=False),
        "sales_invoice": lambda: _invoice(n, sales=True),
        "purchase_invoice": lambda: _invoice(n, sales=False),
        "journal_entry": lambda: _journal_entry(n),
    }
    if kind not in builders:
        raise ValueError(f"Unknown record kind {kind!r}.")
    data = builders[kind]()
    if package is None:
        return data
    from integrations.connectors.registry import get_connector_class

    connector_class = get_connector_class(package)
    journals = connector_class.example_journals
    if kind in journals:
        data["journal"] = journals[kind]
        if kind != "journal_entry":
            data.setdefault("payment_terms_code", "30")
        accounts = connector_class.example_accounts
        for item in data["lines"]:
            item["gl_account"] = accounts.get(item["gl_account"], item["gl_account"])
    return data


def relation_code(n: int, *, customer: bool) -> str:
    return str((10000 if customer else 20000) + n)


def dutch_vat_number(n: int) -> str:
    """A valid Dutch VAT number: even n pass the eleven-test, odd n the mod-97 check."""
    if n % 2:
        digits = f"{(n * 7919 + 123456789) % 10**9:09d}"
        check = (1 - int(f"2321{digits}11") * 100) % 97
        return f"NL{digits}B{check:02d}"
    seed = n * 7919 + 12345678
    while True:
        head = f"{seed % 10**8:08d}"
        last = sum(int(d) * w for d, w in zip(head, range(9, 1, -1), strict=True)) % 11
        if last < 10:
            return f"NL{head}{last}B01"
        seed += 1


def _relation(n: int, *, customer: bool) -> dict[str, Any]:
    # Suppliers draw their names from further along, so customer 7 and supplier 7 differ.
    m = n if customer else n + 7
    family = _FAMILY_NAMES[m % len(_FAMILY_NAMES)]
    trade = _TRADES[(m // len(_FAMILY_NAMES)) % len(_TRADES)]
    legal_form = _LEGAL_FORMS[m % len(_LEGAL_FORMS)]
    city, postcode, area_code = _PLACES[m % len(_PLACES)]
    name = f"{trade} {family} {legal_form}".strip()
    domain = "".join(ch for ch in f"{trade}{family}".lower() if ch.isalnum())
    return {
        "code": relation_code(n, customer=customer),
        "name": name,
        "short_name": f"{family.replace(' ', '').upper()[:12]}{n}"[:20],
        "address_line1": f"{_STREETS[m % len(_STREETS)]} {m % 180 + 1}",
        "postcode": f"{postcode} {chr(65 + m % 26)}{chr(65 + m // 26 % 26)}",
        "city": city,
        "country": "NL",
        "email": f"{'administratie' if customer else 'facturen'}@{domain}.nl",
        "phone": f"{area_code}-{(m * 4657 + 1000000) % 9000000 + 1000000}",
        "vat_number": dutch_vat_number(m),
        "coc_number": f"{(m * 7727 + 30000000) % 10**8:08d}",
        "payment_terms_code": "30" if m % 3 else "14",
        "currency": "EUR",
    }


def _invoice(n: int, *, sales: bool) -> dict[str, Any]:
    invoice_date = _FIRST_DAY + timedelta(days=n % 360)
    credit_note = sales and n % 10 == 9
    accounts = _SALES_LINES if sales else _PURCHASE_LINES
    lines = []
    for i in range(1 + n % 3):
        gl_account, description = accounts[(n + i) % len(accounts)]
        vat_code = "2" if (n + i) % 4 == 0 else "1"
        amount = Decimal((n * 7919 + i * 104729) % 250000 + 1000) / 100
        if credit_note:
            amount = -amount
        lines.append(
            {
                "gl_account": gl_account,
                "description": description,
                "amount": str(amount.quantize(_CENT)),
                "vat_code": vat_code,
                "vat_amount": str((amount * _VAT_RATES[vat_code]).quantize(_CENT)),
            }
        )
    return {
        "invoice_number": f"{'VF' if sales else 'IF'}{invoice_date.year}-{n + 1:06d}",
        "relation_code": relation_code(n % EXAMPLE_RELATIONS, customer=sales),
        "invoice_date": invoice_date.isoformat(),
        "due_date": (invoice_date + timedelta(days=30)).isoformat(),
        "journal": "70" if sales else "60",
        "description": ("Creditnota" if credit_note else "Factuur") + f" {n + 1}",
        "your_ref": f"ORD-{n * 31 % 100000:05d}",
        "currency": "EUR",
        "lines": lines,
    }


def _journal_entry(n: int) -> dict[str, Any]:
    entry_date = _FIRST_DAY + timedelta(days=n % 360)
    total = Decimal((n * 6151) % 500000 + 5000) / 100
    first = (total / 3).quantize(_CENT)
    return {
        "entry_number": f"MEM{entry_date.year}-{n + 1:06d}",
        "journal": "90",
        "entry_date": entry_date.isoformat(),
        "description": f"Memoriaal {n + 1}: verdeling kosten",
        "lines": [
            {"gl_account": "4000", "description": "Loonkosten", "debit": str(first)},
            {"gl_account": "4100", "description": "Sociale lasten", "debit": str(total - first)},
            {"gl_account": "1600", "description": "Te betalen lonen", "credit": str(total)},
        ],
    }
