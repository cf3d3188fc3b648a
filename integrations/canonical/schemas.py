"""One pydantic model per shape of record the Reflex 3000 ERP exports.

Field names are the contract between intake, the edit screens and the connectors;
changing one is changing all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Self

from django.utils.translation import gettext
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from . import dutch
from .values import Amount, CountryCode, CurrencyCode, Email, FiscalYear, IsoDate, Period, invalid

NonNegativeAmount = Annotated[Amount, Field(ge=0)]
_ZERO = Decimal("0.00")


class CanonicalModel(BaseModel):
    # Numbers are accepted where text is expected: an ERP happily sends debtor
    # number 10023 as a JSON number.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _treat_blanks_as_absent(cls, data: Any) -> Any:
        """Strip text; a blank or null value of a known field counts as not given.

        So a CSV's empty cell, JSON's null and a missing key mean the same thing: the
        default for an optional field, "This field is required." for a required one.
        Unknown keys are kept, even blank, so that a typo is reported.
        """
        if not isinstance(data, Mapping):
            return data
        # Runs for every record and every line of it, tens of thousands of times for
        # one batch, and records as the ERP sends them have nothing to strip or drop:
        # so first only look, which is far cheaper than building a cleaned copy.
        # str.strip() answers the very same object when there is nothing to strip.
        # (Other mappings take the long way, which also makes them the dict pydantic wants.)
        for value in data.values() if type(data) is dict else (None,):
            if value.__class__ is str:  # the usual case first
                if value and value.strip() is value and "\x00" not in value:
                    continue
                break
            if value is None or isinstance(value, str):  # a str subclass: the long way
                break
        else:
            return data
        fields = cls.model_fields
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                if "\x00" in value:
                    # PostgreSQL cannot store it (jsonb refuses \u0000) and no package
                    # wants it; refused the same way on every database.
                    raise PydanticCustomError("nul_character", "NUL character", {"field": key})
                value = value.strip()
            if (value is None or value == "") and key in fields:
                continue
            cleaned[key] = value
        return cleaned


def _fill_in_year_and_period(record: Invoice | JournalEntry, booked_on: date) -> None:
    if record.fiscal_year is None:
        record.fiscal_year = booked_on.year
    if record.period is None:
        record.period = booked_on.month


class Relation(CanonicalModel):
    """A customer or a supplier, known by its debtor/creditor number ``code``."""

    code: str = Field(max_length=18)
    name: str = Field(max_length=100)
    # Multivers requires a short name; its connector says so, not the canonical record.
    short_name: str | None = Field(None, max_length=20)
    address_line1: str | None = Field(None, max_length=100)
    postcode: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=60)
    country: CountryCode = "NL"
    email: Email | None = None
    phone: str | None = Field(None, max_length=30)
    vat_number: str | None = Field(None, max_length=30)
    coc_number: str | None = Field(None, max_length=20)
    payment_terms_code: str | None = Field(None, max_length=20)
    currency: CurrencyCode = "EUR"

    @field_validator("vat_number")
    @classmethod
    def _check_vat_number(cls, value: str, info: ValidationInfo) -> str:
        number = dutch.compact(value)
        # A number that says it is Dutch is checked wherever the relation is based.
        if info.data.get("country") != "NL" and not number.startswith("NL"):
            return number
        if not dutch.VAT_NUMBER_FORM.fullmatch(number):
            raise invalid(gettext("Enter a Dutch VAT number in the form NL999999999B99."))
        if not dutch.is_valid_vat_number(number):
            raise invalid(
                gettext("This is not a valid Dutch VAT number: it fails the check on its digits.")
            )
        return number

    @field_validator("coc_number")
    @classmethod
    def _check_coc_number(cls, value: str, info: ValidationInfo) -> str:
        number = dutch.compact(value)
        if info.data.get("country") == "NL" and not dutch.COC_NUMBER_FORM.fullmatch(number):
            raise invalid(gettext("Enter the 8 digits of the Chamber of Commerce (KvK) number."))
        return number


class InvoiceLine(CanonicalModel):
    gl_account: str = Field(max_length=20)
    description: str | None = Field(None, max_length=100)
    # Excluding VAT; negative on a credit note.
    amount: Amount
    vat_code: str | None = Field(None, max_length=10)
    vat_amount: Amount | None = None
    cost_centre: str | None = Field(None, max_length=20)


class Invoice(CanonicalModel):
    """A sales or a purchase invoice, known by its ``invoice_number``."""

    invoice_number: str = Field(max_length=30)
    relation_code: str = Field(max_length=18)
    invoice_date: IsoDate
    due_date: IsoDate | None = None
    journal: str = Field(max_length=20)
    fiscal_year: FiscalYear | None = None
    period: Period | None = None
    description: str | None = Field(None, max_length=100)
    your_ref: str | None = Field(None, max_length=30)
    payment_reference: str | None = Field(None, max_length=50)
    currency: CurrencyCode = "EUR"
    payment_terms_code: str | None = Field(None, max_length=20)
    lines: list[InvoiceLine] = Field(min_length=1, max_length=500)

    @field_validator("due_date")
    @classmethod
    def _not_before_invoice_date(cls, value: date, info: ValidationInfo) -> date:
        invoice_date = info.data.get("invoice_date")
        if invoice_date is not None and value < invoice_date:
            raise invalid(gettext("The due date cannot be before the invoice date."))
        return value

    @model_validator(mode="after")
    def _defaults_from_invoice_date(self) -> Self:
        _fill_in_year_and_period(self, self.invoice_date)
        return self


class JournalLine(CanonicalModel):
    gl_account: str = Field(max_length=20)
    description: str | None = Field(None, max_length=100)
    debit: NonNegativeAmount = _ZERO
    # Validated even when absent, so the debit-or-credit rule always runs.
    credit: NonNegativeAmount = Field(_ZERO, validate_default=True)
    vat_code: str | None = Field(None, max_length=10)
    cost_centre: str | None = Field(None, max_length=20)

    @field_validator("credit")
    @classmethod
    def _debit_or_credit(cls, credit: Decimal, info: ValidationInfo) -> Decimal:
        debit = info.data.get("debit")
        if debit is None:  # the debit itself was invalid and has its own message
            return credit
        if debit and credit:
            raise invalid(gettext("Enter a debit or a credit amount, not both."))
        if not debit and not credit:
            raise invalid(gettext("Enter a debit or a credit amount."))
        return credit


class JournalEntry(CanonicalModel):
    """A memorial (journal) entry, known by its ``entry_number``."""

    entry_number: str = Field(max_length=30)
    journal: str = Field(max_length=20)
    entry_date: IsoDate
    fiscal_year: FiscalYear | None = None
    period: Period | None = None
    description: str | None = Field(None, max_length=100)
    lines: list[JournalLine] = Field(min_length=2, max_length=1000)

    @field_validator("lines")
    @classmethod
    def _balanced(cls, lines: list[JournalLine]) -> list[JournalLine]:
        debit = sum((line.debit for line in lines), _ZERO)
        credit = sum((line.credit for line in lines), _ZERO)
        if debit != credit:
            raise invalid(
                gettext("The entry does not balance: debit %(debit)s, credit %(credit)s.")
                % {"debit": f"{debit:.2f}", "credit": f"{credit:.2f}"}
            )
        return lines

    @model_validator(mode="after")
    def _defaults_from_entry_date(self) -> Self:
        _fill_in_year_and_period(self, self.entry_date)
        return self
