from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from integrations.canonical import (
    KIND_LABELS,
    KINDS,
    NATURAL_KEY,
    SCHEMAS,
    RecordErrors,
    example_record,
    identifier_of,
    line_fields,
    record_fields,
    summarise,
    validate_record,
)
from integrations.canonical.countries import COUNTRY_CODES
from integrations.canonical.dutch import is_valid_vat_number
from integrations.canonical.examples import dutch_vat_number


def customer(**fields):
    return {"code": "10001", "name": "Bakkerij De Vries B.V."} | fields


def invoice(**fields):
    return {
        "invoice_number": "VF2025-0001",
        "relation_code": "10001",
        "invoice_date": "2025-03-15",
        "journal": "70",
        "lines": [{"gl_account": "8000", "amount": "100", "vat_code": "1", "vat_amount": "21"}],
    } | fields


def entry(*lines, **fields):
    return {
        "entry_number": "MEM-1",
        "journal": "90",
        "entry_date": "2025-06-30",
        "lines": list(lines)
        or [{"gl_account": "4000", "debit": "100"}, {"gl_account": "1600", "credit": "100"}],
    } | fields


def errors_of(kind, data):
    record, errors = validate_record(kind, data)
    assert record is None
    return errors


# --- valid records -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_it_accepts_the_example_records_of_every_kind(kind):
    for n in range(50):
        record, errors = validate_record(kind, example_record(kind, n))
        assert errors == {}
        assert identifier_of(kind, record) == identifier_of(kind, example_record(kind, n))


@pytest.mark.parametrize("kind", KINDS)
def test_its_output_is_json_ready_and_validates_again_unchanged(kind):
    record, _ = validate_record(kind, example_record(kind, 3))
    assert json.loads(json.dumps(record)) == record
    assert validate_record(kind, record) == (record, {})


def test_it_normalises_a_relation():
    record, errors = validate_record(
        "customer",
        customer(
            code=" 10001 ",
            country="nl",
            vat_number="nl 0000.99998.b57",
            coc_number="3005 4089",
            city="",
            phone=None,
            currency="eur",
        ),
    )
    assert errors == {}
    assert record == {
        "code": "10001",
        "name": "Bakkerij De Vries B.V.",
        "country": "NL",
        "vat_number": "NL000099998B57",
        "coc_number": "30054089",
        "currency": "EUR",
    }


def test_it_fills_in_the_defaults_of_a_relation():
    record, _ = validate_record("supplier", {"code": "20001", "name": "Drukkerij Bos"})
    assert record == {"code": "20001", "name": "Drukkerij Bos", "country": "NL", "currency": "EUR"}


def test_it_takes_a_debtor_number_sent_as_a_json_number():
    record, _ = validate_record("customer", customer(code=10023))
    assert record["code"] == "10023"


def test_it_normalises_an_invoice():
    record, errors = validate_record(
        "sales_invoice", invoice(invoice_date=date(2025, 3, 15), due_date="2025-04-14")
    )
    assert errors == {}
    assert record == {
        "invoice_number": "VF2025-0001",
        "relation_code": "10001",
        "invoice_date": "2025-03-15",
        "due_date": "2025-04-14",
        "journal": "70",
        "fiscal_year": 2025,
        "period": 3,
        "currency": "EUR",
        "lines": [
            {"gl_account": "8000", "amount": "100.00", "vat_code": "1", "vat_amount": "21.00"}
        ],
    }


def test_it_keeps_a_fiscal_year_and_period_that_are_given():
    record, _ = validate_record("purchase_invoice", invoice(fiscal_year="2024", period=13))
    assert (record["fiscal_year"], record["period"]) == (2024, 13)


def test_it_accepts_negative_amounts_on_a_credit_note():
    lines = [{"gl_account": "8000", "amount": "-99.5", "vat_amount": -20.9}]
    record, _ = validate_record("sales_invoice", invoice(lines=lines))
    assert record["lines"][0] == {"gl_account": "8000", "amount": "-99.50", "vat_amount": "-20.90"}


def test_it_writes_amounts_with_exactly_two_decimals():
    lines = [
        {"gl_account": "8000", "amount": amount} for amount in (7, "1e2", Decimal("0.5"), "-0")
    ]
    record, _ = validate_record("sales_invoice", invoice(lines=lines))
    assert [line["amount"] for line in record["lines"]] == ["7.00", "100.00", "0.50", "0.00"]


def test_it_normalises_a_journal_entry_and_fills_in_its_defaults():
    record, errors = validate_record("journal_entry", entry())
    assert errors == {}
    assert record == {
        "entry_number": "MEM-1",
        "journal": "90",
        "entry_date": "2025-06-30",
        "fiscal_year": 2025,
        "period": 6,
        "lines": [
            {"gl_account": "4000", "debit": "100.00", "credit": "0.00"},
            {"gl_account": "1600", "debit": "0.00", "credit": "100.00"},
        ],
    }


# --- errors on the right path, in plain words ----------------------------------------


def test_it_reports_missing_required_fields():
    assert errors_of("customer", {"code": "  ", "name": None}) == {
        "code": "This field is required.",
        "name": "This field is required.",
    }


def test_it_reports_an_unknown_field_so_that_typos_are_caught():
    assert errors_of("customer", customer(nmae="De Vries", vat_numbr="")) == {
        "nmae": "Unknown field.",
        "vat_numbr": "Unknown field.",
    }


def test_it_reports_an_unknown_field_on_an_invoice_line():
    lines = [{"gl_account": "8000", "amount": "1", "vatcode": "1"}]
    assert errors_of("sales_invoice", invoice(lines=lines)) == {"lines.0.vatcode": "Unknown field."}


def test_it_reports_text_that_is_too_long():
    assert errors_of("customer", customer(code="1" * 19)) == {"code": "Use at most 18 characters."}


@pytest.mark.parametrize(
    "value", ["20250315", "15-3-2025", "2025-02-30", 1741996800, "2025-03-15T10:00"]
)
def test_it_refuses_anything_but_an_iso_date(value):
    assert errors_of("sales_invoice", invoice(invoice_date=value)) == {
        "invoice_date": "Enter a valid date (YYYY-MM-DD)."
    }


def test_it_refuses_a_due_date_before_the_invoice_date():
    assert errors_of("sales_invoice", invoice(due_date="2025-03-14")) == {
        "due_date": "The due date cannot be before the invoice date."
    }


def test_it_refuses_amounts_with_three_decimals():
    lines = [
        {"gl_account": "8000", "amount": "10.005"},
        {"gl_account": "8000", "amount": 0.1 + 0.2},
    ]
    assert errors_of("sales_invoice", invoice(lines=lines)) == {
        "lines.0.amount": "Use at most 2 decimals.",
        "lines.1.amount": "Use at most 2 decimals.",
    }


@pytest.mark.parametrize("value", ["tien", "1.000,50", "NaN", "Infinity"])
def test_it_refuses_an_amount_that_is_not_a_number(value):
    lines = [{"gl_account": "8000", "amount": value}]
    assert errors_of("sales_invoice", invoice(lines=lines)) == {"lines.0.amount": "Enter a number."}


def test_it_refuses_a_period_outside_1_to_13_and_a_year_that_is_no_number():
    assert errors_of("sales_invoice", invoice(period=14, fiscal_year="2025a")) == {
        "fiscal_year": "Enter a whole number.",
        "period": "Enter 13 or less.",
    }


def test_it_refuses_an_invoice_without_lines():
    assert errors_of("sales_invoice", invoice(lines=[])) == {"lines": "Enter at least 1 line."}


def test_it_refuses_more_than_500_invoice_lines():
    lines = [{"gl_account": "8000", "amount": "1"}] * 501
    assert errors_of("sales_invoice", invoice(lines=lines)) == {"lines": "Enter at most 500 lines."}


def test_it_refuses_a_line_that_is_not_a_set_of_fields():
    lines = [{"gl_account": "8000", "amount": "1"}, "8000;1"]
    assert errors_of("sales_invoice", invoice(lines=lines)) == {
        "lines.1": "Enter a set of fields here, not a single value."
    }


def test_it_reports_every_bad_line_with_its_index():
    lines = [
        {"gl_account": "8000", "amount": "1"},
        {"amount": "1"},
        {"gl_account": "8000", "amount": "1", "vat_code": "12345678901"},
    ]
    assert errors_of("sales_invoice", invoice(lines=lines)) == {
        "lines.1.gl_account": "This field is required.",
        "lines.2.vat_code": "Use at most 10 characters.",
    }


def test_it_rejects_an_unbalanced_journal_entry():
    unbalanced = entry(
        {"gl_account": "4000", "debit": "100"}, {"gl_account": "1600", "credit": "90"}
    )
    assert errors_of("journal_entry", unbalanced) == {
        "lines": "The entry does not balance: debit 100.00, credit 90.00."
    }


def test_it_wants_a_debit_or_a_credit_on_each_journal_line_but_not_both():
    lines = [
        {"gl_account": "4000", "debit": "100", "credit": "100"},
        {"gl_account": "4100"},
        {"gl_account": "1600", "debit": "-5"},
    ]
    assert errors_of("journal_entry", entry(*lines)) == {
        "lines.0.credit": "Enter a debit or a credit amount, not both.",
        "lines.1.credit": "Enter a debit or a credit amount.",
        "lines.2.debit": "Enter 0 or more.",
    }


def test_it_wants_at_least_two_journal_lines():
    assert errors_of("journal_entry", entry({"gl_account": "4000", "debit": "1"})) == {
        "lines": "Enter at least 2 lines."
    }


def test_it_refuses_an_unknown_country():
    assert errors_of("customer", customer(country="xx")) == {
        "country": "Unknown country code 'XX'."
    }


def test_it_knows_the_countries_of_iso_3166():
    assert len(COUNTRY_CODES) == 249
    for country in ("BE", "DE", "CW", "AX"):
        record, _ = validate_record("customer", customer(country=country))
        assert record["country"] == country


def test_it_refuses_a_currency_that_is_not_three_letters():
    assert errors_of("customer", customer(currency="euro")) == {
        "currency": "Enter a three-letter currency code, such as EUR."
    }


def test_it_refuses_an_obviously_wrong_email_address():
    assert errors_of("customer", customer(email="info@devries")) == {
        "email": "Enter a valid email address."
    }


def test_it_wants_the_8_digits_of_a_dutch_chamber_of_commerce_number():
    assert errors_of("customer", customer(coc_number="1234567")) == {
        "coc_number": "Enter the 8 digits of the Chamber of Commerce (KvK) number."
    }
    record, _ = validate_record("customer", customer(country="DE", coc_number="HRB 12345"))
    assert record["coc_number"] == "HRB12345"


def test_its_messages_never_leak_pydantic_wording():
    bad = invoice(
        invoice_date=[],
        fiscal_year=1.5,
        description=["x"],
        lines=[{"gl_account": {}, "amount": None, "vat_amount": "abc"}],
    )
    for message in errors_of("sales_invoice", bad).values():
        assert "Input should" not in message
        assert "pydantic" not in message


def test_it_reports_a_record_that_is_not_a_mapping_on_all():
    assert errors_of("customer", ["10001", "De Vries"]) == {
        "__all__": "Enter a set of fields here, not a single value."
    }


def test_it_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match=r"Unknown record kind 'invoice'\."):
        validate_record("invoice", {})


# --- Dutch VAT numbers ---------------------------------------------------------------


def test_it_accepts_a_vat_number_that_passes_the_mod_97_check():
    record, _ = validate_record("customer", customer(vat_number="NL000099998B57"))
    assert record["vat_number"] == "NL000099998B57"


def test_it_accepts_a_vat_number_that_passes_the_eleven_test():
    record, _ = validate_record("customer", customer(vat_number="NL123456782B01"))
    assert record["vat_number"] == "NL123456782B01"


def test_it_refuses_a_vat_number_that_fails_both_checks():
    assert errors_of("customer", customer(vat_number="NL000099998B58")) == {
        "vat_number": "This is not a valid Dutch VAT number: it fails the check on its digits."
    }


@pytest.mark.parametrize(
    "value", ["NL00009999B57", "000099998B57", "NL000099998X57", "NL0000999980B5"]
)
def test_it_names_the_expected_form_of_a_malformed_vat_number(value):
    assert errors_of("customer", customer(vat_number=value)) == {
        "vat_number": "Enter a Dutch VAT number in the form NL999999999B99."
    }


def test_it_checks_a_dutch_vat_number_of_a_relation_abroad_but_not_a_foreign_one():
    assert "vat_number" in errors_of(
        "customer", customer(country="BE", vat_number="NL000099998B58")
    )
    record, _ = validate_record("customer", customer(country="BE", vat_number="BE 0123.456.789"))
    assert record["vat_number"] == "BE0123456789"


def test_the_example_vat_numbers_are_valid():
    assert all(is_valid_vat_number(dutch_vat_number(n)) for n in range(2000))


# --- the rest of the public API ------------------------------------------------------


def test_every_kind_has_a_label_a_natural_key_and_a_schema():
    assert set(KIND_LABELS) == set(NATURAL_KEY) == set(SCHEMAS) == set(KINDS)
    assert str(KIND_LABELS["sales_invoice"]) == "Sales invoice"


def test_it_finds_the_identifier_of_a_record():
    assert identifier_of("customer", {"code": 10001}) == "10001"
    assert identifier_of("purchase_invoice", invoice(invoice_number=" IF-7 ")) == "IF-7"
    assert identifier_of("journal_entry", {}) == ""


def test_it_summarises_field_errors_in_one_sentence():
    errors = {"lines.1.amount": "Use at most 2 decimals.", "vat_number": "Unknown field."}
    assert (
        summarise(errors)
        == "2 problems: lines.1.amount: Use at most 2 decimals; vat_number: Unknown field."
    )
    assert (
        summarise({"code": "This field is required."}) == "1 problem: code: This field is required."
    )


def test_its_summary_counts_the_problems_it_does_not_name():
    errors = {f"lines.{i}.amount": "Enter a number." for i in range(8)}
    assert summarise(errors).endswith("lines.4.amount: Enter a number; and 3 more.")


def test_record_errors_carry_the_summary_and_the_field_errors():
    errors = errors_of("customer", customer(country="XX"))
    assert RecordErrors.of(errors) == RecordErrors(
        message="1 problem: country: Unknown country code 'XX'.", field_errors=errors
    )


def test_it_describes_the_fields_of_a_record_for_the_edit_form():
    fields = {spec.name: spec for spec in record_fields("sales_invoice")}
    assert "lines" not in fields
    assert (fields["invoice_number"].type, fields["invoice_number"].required) == ("str", True)
    assert fields["invoice_number"].max_length == 30
    assert (fields["invoice_date"].type, fields["fiscal_year"].type) == ("date", "int")
    assert fields["due_date"].required is False
    assert str(fields["relation_code"].label) == "Customer number"


def test_it_describes_the_fields_of_a_line_and_relations_have_none():
    fields = {spec.name: spec for spec in line_fields("journal_entry")}
    assert list(fields) == [
        "gl_account",
        "description",
        "debit",
        "credit",
        "vat_code",
        "cost_centre",
    ]
    assert fields["debit"].type == "decimal"
    assert line_fields("customer") == []
    assert {spec.name for spec in record_fields("customer")} >= {"code", "vat_number", "country"}
    assert next(s for s in record_fields("customer") if s.name == "country").max_length == 2
