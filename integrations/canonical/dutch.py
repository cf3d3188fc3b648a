"""Dutch registration numbers: VAT (btw-nummer) and Chamber of Commerce (KvK).

The VAT rules are the ones Multivers Online applies (see ACCOUNTING_APIS.md), so a
number that passes here is not refused there for its form.
"""

from __future__ import annotations

import re
import string
from operator import mul

VAT_NUMBER_FORM = re.compile(r"NL(\d{9})B\d{2}")
COC_NUMBER_FORM = re.compile(r"\d{8}")
_ELEVEN_TEST_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)
# For the mod-97 check: each letter as its number (A=10 … Z=35), either case.
_LETTERS_AS_NUMBERS = str.maketrans(
    {letter: str(int(letter, 36)) for letter in string.ascii_letters}
)


def compact(value: str) -> str:
    """The number without the spaces and dots people type in it, upper case."""
    return value.replace(" ", "").replace(".", "").upper()


def passes_eleven_test(digits: str) -> bool:
    """The old check on the 9 digits of a VAT number (weights 9..2, last digit -1)."""
    if len(digits) != len(_ELEVEN_TEST_WEIGHTS):
        raise ValueError(f"{digits!r} is not 9 digits")
    # map() rather than a generator: intake checks thousands of numbers a batch.
    return sum(map(mul, map(int, digits), _ELEVEN_TEST_WEIGHTS)) % 11 == 0


def passes_mod_97(number: str) -> bool:
    """The check in use since 2020: letters as numbers (A=10 … Z=35), then mod 97 == 1."""
    # One translate rather than a generator: intake checks thousands of numbers a batch.
    return int(number.translate(_LETTERS_AS_NUMBERS)) % 97 == 1


def is_valid_vat_number(number: str) -> bool:
    """Whether an already compacted number is a valid Dutch VAT number."""
    match = VAT_NUMBER_FORM.fullmatch(number)
    if match is None:
        return False
    return passes_eleven_test(match[1]) or passes_mod_97(number)
