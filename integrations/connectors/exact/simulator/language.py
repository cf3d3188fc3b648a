"""Exact answers its messages in the connected user's language (``Me.LanguageCode``).

Confirmed Dutch wordings (ACCOUNTING_APIS.md): "Verplicht: …" for "Required: …", and
"In gebruik: Boekstuknummer" for "In use: Document number". The rest of this table is
the simulator's choice (not confirmed), kept here in one place: Exact's Dutch screen
labels for the same fields.
"""

from __future__ import annotations

# "Subject: object" → the Dutch subject.
SUBJECTS = {
    "Required": "Verplicht",
    "Mandatory": "Verplicht",
    "In use": "In gebruik",
    "Not found": "Niet gevonden",
    "Invalid": "Ongeldig",
    "Not allowed": "Niet toegestaan",
    "Unknown": "Onbekend",
}
OBJECTS = {
    "Document number": "Boekstuknummer",
    "Journal": "Dagboek",
    "Account": "Grootboekrekening",
    "VAT code": "Btw-code",
    "Cost center link": "Kostenplaats koppeling",
    "Customer": "Klant",
    "Customer (Type)": "Klant (Type)",
    "Supplier": "Leverancier",
    "Supplier (Type)": "Leverancier (Type)",
    "Name": "Naam",
    "Country": "Land",
    "Amount": "Bedrag",
    "Financial year (Period-date table)": "Boekjaar (Periodetabel)",
}
_NOT_BALANCED = "This entry is not balanced on:"


def translate(message: str, language: str) -> str:
    """``message`` as a user with ``language`` (e.g. ``nl-NL``) reads it."""
    if not language.lower().startswith("nl"):
        return message
    if message.startswith(_NOT_BALANCED):
        return "Deze boeking is niet in balans op:" + message.removeprefix(_NOT_BALANCED)
    subject, separator, thing = message.partition(": ")
    if not separator or subject not in SUBJECTS:
        return message
    return f"{SUBJECTS[subject]}: {OBJECTS.get(thing, thing)}"
