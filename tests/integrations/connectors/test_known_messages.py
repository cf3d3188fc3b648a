"""Each package's catalogue of known messages: keyed on the reason the package really answers."""

from __future__ import annotations

import pytest
from django.utils import translation

from integrations.connectors.base import Connector
from integrations.connectors.exact.simulator import entries
from integrations.connectors.multivers.simulator import rules
from integrations.connectors.registry import get_connector_class
from runs.reasons import known_messages_of, reason_of

MULTIVERS = get_connector_class("multivers").known_messages()
EXACT = get_connector_class("exact").known_messages()


def _multivers_relation_messages() -> list[str]:
    body = {"shortName": "", "creditSqueezeId": "0", "vatNumber": "NL123456789B01"}
    return [str(message["message"]) for message in rules.relation_errors(body)]


def test_the_multivers_simulators_messages_are_explained():
    messages = _multivers_relation_messages()
    assert len(messages) == 2, messages
    for message in messages:
        assert reason_of(message) in MULTIVERS, message


@pytest.mark.parametrize(
    "message",
    [
        "In use: Document number",
        "Not allowed: VAT code",
        "Invalid: Cost center link",
        "Required: Journal",
        "Invalid: Customer (Type)",
        entries.FINANCIAL_YEAR,
        "Mandatory: Account",
        "Not found: Account",
    ],
)
def test_the_exact_messages_users_meet_are_explained(message):
    assert reason_of(message) in EXACT


def test_each_line_of_a_joined_answer_is_explained_once():
    found = known_messages_of(
        EXACT,
        "Not allowed: VAT code\nInvalid: Cost center link",
        {"lines.0.vat_code": "Not allowed: VAT code"},
    )
    assert [reason for reason, _known in found] == [
        "Not allowed: VAT code",
        "Invalid: Cost center link",
    ]


def test_an_unknown_message_has_no_explanation():
    assert known_messages_of(MULTIVERS, "Iets onverwachts ging mis.", {}) == []


def test_a_connector_without_a_catalogue_has_an_empty_one():
    class Bare(Connector):
        key = "bare"

    assert Bare.known_messages() == {}


def test_the_explanations_are_in_dutch_too():
    known = MULTIVERS["ShortName is verplicht."]
    with translation.override("nl"):
        dutch = str(known.explanation)
    assert dutch != str(known.explanation)
