from __future__ import annotations

import pytest

from runs.reasons import reason_of


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Klant '10010' bestaat niet.", "Klant '20417' bestaat niet."),
        ("Not found: Account 8999", "Not found: Account 4001"),
        (
            "Btwnummer 'NL000099998B57' is niet geldig",
            "Btwnummer 'NL123456789B01' is niet geldig",
        ),
        ("This entry is not balanced on: 2021 / 12", "This entry is not balanced on: 2024 / 3"),
        ("Invoice VF2025-000123 is in use", "Invoice VF2026-9 is in use"),
    ],
)
def test_messages_that_differ_only_in_values_share_a_reason(first, second):
    assert reason_of(first) == reason_of(second)


def test_different_messages_keep_different_reasons():
    assert reason_of("Required: Journal") != reason_of("Not allowed: VAT code")


def test_words_without_digits_are_kept():
    assert reason_of("ShortName is verplicht.") == "ShortName is verplicht."
    assert reason_of("In use: Document number") == "In use: Document number"
