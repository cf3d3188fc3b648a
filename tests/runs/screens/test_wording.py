"""The portal's own words in stored messages are shown in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from runs import wording
from runs.models import LineStatus
from runs.reasons import reason_of
from runs.services.attempts import in_doubt_message
from tests.runs.screens.conftest import PACKAGE_MESSAGE

VALUES = {
    "number": "12",
    "external_id": "4711",
    "label": "Exact Online",
    "error": "KeyError",
    "detail": "HTTP 503",
    "at": "2026-12-03 14:05:00 CET",
    "user": "editor",
    "minutes": "30",
    "name": "Sales",
}


@pytest.mark.parametrize("said", wording.WORDINGS, ids=lambda said: said.text[:40])
def test_every_wording_is_read_back_in_dutch_with_its_values(said):
    stored = said(**{name: VALUES[name] for name in re.findall(r"%\((\w+)\)s", said.text)})
    with translation.override("nl"):
        shown = wording.localize(stored)
    assert shown != stored, "no Dutch translation in locale/nl"
    for name in re.findall(r"%\((\w+)\)s", said.text):
        assert VALUES[name] in shown
    with translation.override("en"):
        assert wording.localize(stored) == stored


def test_a_message_of_two_wordings_is_translated_part_by_part():
    stored = f"{in_doubt_message('Exact Online')} {wording.COULD_NOT_OFFER(error='KeyError')}"
    with translation.override("nl"):
        shown = wording.localize(stored)
    assert shown.startswith("Onzeker — controleer in Exact Online")
    assert shown.endswith(
        "Het portaal kon deze regel niet aanbieden (KeyError); support is ingelicht."
    )


def test_a_packages_own_message_is_shown_as_the_package_wrote_it():
    with translation.override("nl"):
        assert wording.localize(PACKAGE_MESSAGE) == PACKAGE_MESSAGE
        assert wording.localize("Customer 10010 not found.") == "Customer 10010 not found."
        # Only the beginning of a wording is not the wording, nor a number that is none.
        assert wording.localize("Booked in run #12 twice") == "Booked in run #12 twice"
        assert wording.localize("Booked in run #twelve") == "Booked in run #twelve"


def test_a_reason_with_its_values_folded_is_translated_too():
    reason = reason_of(wording.ALREADY_IN_PACKAGE(label="Exact Online", external_id="4711"))
    with translation.override("nl"):
        assert wording.localize(reason).startswith("Staat al in Exact Online (id …)")


@pytest.mark.django_db
def test_a_dutch_reader_sees_the_portals_words_in_dutch_on_the_screens(client, failed_run, editor):
    line = failed_run.lines.get(position=1)
    line.message = wording.COULD_NOT_OFFER(error="KeyError")
    line.save(update_fields=["message"])
    skipped = failed_run.lines.get(position=3)
    skipped.status = LineStatus.SKIPPED
    skipped.message = wording.ALREADY_BOOKED_EARLIER(number=7, external_id="4711")
    skipped.save(update_fields=["status", "message"])
    client.force_login(editor)
    slug = failed_run.integration.company.slug
    line_page = reverse("line_detail", args=[slug, line.pk])
    run_page = reverse("run_detail", args=[slug, failed_run.pk]) + "?failed=0"

    dutch = client.get(line_page, HTTP_ACCEPT_LANGUAGE="nl").text
    assert "Het portaal kon deze regel niet aanbieden (KeyError); support is ingelicht." in dutch
    assert "could not offer" not in dutch
    run_details = client.get(run_page, HTTP_ACCEPT_LANGUAGE="nl").text
    assert "Al geboekt in run #7 (id 4711)." in run_details
    assert "Het portaal kon deze regel niet aanbieden" in run_details
    # The package's own message stays as the package wrote it (escaped, as ever).
    assert "Btw-code &lt;b&gt;9&lt;/b&gt; bestaat niet" in run_details

    english = client.get(line_page, HTTP_ACCEPT_LANGUAGE="en").text
    assert "The portal could not offer this line (KeyError); support has been told." in english
