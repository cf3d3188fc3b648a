"""A package is one folder: nothing outside ``integrations/connectors/<key>/`` names it.

Adding a package must take its folder and one entry point, nothing else (issue 16). So
no module, template or script outside a connector's folder may name a package's key as
code does: a string ``"exact"``, a module path ``connectors.exact``, a name such as
``exact_server`` or ``SIMULATOR_EXACT_URL``. Prose (comments, docstrings that cite where a
rule comes from) may still say "Exact Online"; docs, migrations, locale and the tests,
which exercise particular packages on purpose, are not looked at.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from integrations.connectors.registry import connector_keys

ROOT = Path(__file__).resolve().parent.parent
LOOKED_AT = ("audit", "integrations", "notifications", "portal", "runs", "bench", "templates")
SKIPPED_PARTS = {"migrations", "locale", "__pycache__", "tests"}


def _sources() -> list[Path]:
    found = []
    for top in LOOKED_AT:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".py", ".html") or SKIPPED_PARTS & set(path.parts):
                continue
            if path.is_relative_to(ROOT / "integrations" / "connectors") and (
                path.parent != ROOT / "integrations" / "connectors"
            ):
                continue  # inside a package's own folder
            found.append(path)
    return found


def _python_mentions(text: str, key: str) -> list[str]:
    """Names and strings that are the key, or a module path or identifier built on it."""
    word = re.compile(rf"(^|[._]){key}($|[._])", re.IGNORECASE)
    hits = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.NAME and word.search(token.string):
            hits.append(f"line {token.start[0]}: {token.string}")
        elif token.type == tokenize.STRING:
            inner = token.string.strip("\"'rbfu")
            if inner.lower() == key or re.search(rf"\b(connectors|simulators)\.{key}\b", inner):
                hits.append(f"line {token.start[0]}: {token.string}")
    return hits


def _template_mentions(text: str, key: str) -> list[str]:
    """A template comparing with or loading by the key ("exact" in quotes)."""
    return [
        f"line {number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if re.search(rf"[\"']{key}[\"']", line, re.IGNORECASE)
    ]


@pytest.mark.parametrize("key", connector_keys())
def test_no_module_outside_its_folder_names_a_package(key):
    found = {}
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        hits = (_python_mentions if path.suffix == ".py" else _template_mentions)(text, key)
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert not found, (
        f"Code outside integrations/connectors/{key}/ names the package {key!r}; declare it on "
        f"the connector and read it through the registry instead: {found}"
    )


def test_the_check_finds_a_package_named_in_code():
    assert _python_mentions('if connector == "exact":\n    pass\n', "exact")
    assert _python_mentions("from integrations.connectors.exact import forms\n", "exact")
    assert _python_mentions("URL = settings.SIMULATOR_EXACT_URL\n", "exact")
    assert not _python_mentions("# Exact Online blocks the key for an hour.\n", "exact")
    assert not _python_mentions('"""Exactly once."""\n', "exact")
