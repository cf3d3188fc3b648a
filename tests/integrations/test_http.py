"""What a consultant sees of an exchange: secrets blanked, the record's data readable."""

from __future__ import annotations

from integrations.exchanges import redact


def test_tokens_and_secrets_are_blanked_in_forms_json_and_headers():
    form = "grant_type=authorization_code&code=abc123&client_secret=s3cret&refresh_token=r1"
    assert redact(form) == (
        "grant_type=authorization_code&code=[redacted]&client_secret=[redacted]"
        "&refresh_token=[redacted]"
    )
    assert redact('{"access_token": "tok", "expires_in": 600}') == (
        '{"access_token": "[redacted]", "expires_in": 600}'
    )
    assert redact("Authorization: Bearer eyJhbGciOi.x-y") == "Authorization: Bearer [redacted]"


def test_fields_that_merely_end_in_a_secret_name_stay_readable():
    body = '{"postcode": "3511 AB", "vatCode": "2", "Code": "C0001", "shortName": "X"}'
    assert redact(body) == body


def test_the_authorization_code_is_blanked_in_a_callback_url():
    url = "https://portal.example/c/x/integrations/1/oauth/callback/?code=xyz&state=s"
    assert redact(url) == url.replace("code=xyz", "code=[redacted]")
