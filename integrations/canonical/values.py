"""The value types canonical records are built from, with their own checks.

Every check raises ``invalid(message)``: a pydantic error of type ``canonical`` whose
message is already the sentence the user sees (see ``messages.py``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.utils.translation import gettext
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from .countries import COUNTRY_CODES

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
# Deliberately loose: one @, no spaces, a dot in the domain. The package and the
# mail server are the real judges; this catches the obvious slips.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_CENT = Decimal("0.01")
_AMOUNT_LIMIT = Decimal(10) ** 13


def invalid(message: str) -> PydanticCustomError:
    """An error carrying a finished, translated sentence.

    The sentence travels in the context, not the template, so braces in user input
    quoted by a message cannot break pydantic's formatting.
    """
    return PydanticCustomError("canonical", "{message}", {"message": message})


def _parse_date(value: Any) -> date:
    # pydantic's own date parsing reads "20240315" as a Unix timestamp (1970-08-23);
    # an ERP export must not be silently misread, so only ISO dates get through.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise invalid(gettext("Enter a valid date (YYYY-MM-DD)."))


def _to_cents(value: Decimal) -> Decimal:
    if abs(value) >= _AMOUNT_LIMIT:
        raise invalid(gettext("Enter an amount below 10,000,000,000,000."))
    # "+ 0" turns -0.00 into 0.00.
    return value.quantize(_CENT) + 0


def _country(value: str) -> str:
    code = value.upper()
    if code not in COUNTRY_CODES:
        raise invalid(gettext("Unknown country code '%(code)s'.") % {"code": code})
    return code


def _currency(value: str) -> str:
    code = value.upper()
    if not _CURRENCY.fullmatch(code):
        raise invalid(gettext("Enter a three-letter currency code, such as EUR."))
    return code


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise invalid(gettext("Enter a valid email address."))
    return value


IsoDate = Annotated[date, BeforeValidator(_parse_date)]
# Two decimals at most, always written with exactly two ("100.00").
Amount = Annotated[Decimal, Field(decimal_places=2), AfterValidator(_to_cents)]
CountryCode = Annotated[str, AfterValidator(_country)]
CurrencyCode = Annotated[str, AfterValidator(_currency)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
FiscalYear = Annotated[int, Field(ge=1900, le=2199)]
Period = Annotated[int, Field(ge=1, le=13)]
