"""Dutch is the customers' language: every label the portal shows must have it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "nl" / "LC_MESSAGES" / "django.po"
CATALOG = Path("locale") / "nl" / "LC_MESSAGES" / "django.po"
# Every app of the project: a string marked in any of them is shown to someone.
APPS = sorted(
    path.name for path in ROOT.iterdir() if (path / "apps.py").exists() and path.name != "tests"
)
# The portal's own catalog and each package's (``integrations/connectors/<key>/locale/``).
CATALOGS = [PO, *sorted((ROOT / "integrations" / "connectors").glob(f"*/{CATALOG}"))]
catalogs = pytest.mark.parametrize(
    "po", CATALOGS, ids=[str(po.relative_to(ROOT).parent.parent.parent.parent) for po in CATALOGS]
)


@catalogs
def test_every_dutch_entry_is_translated_and_none_is_fuzzy(po):
    catalog = polib.pofile(str(po))
    missing = [entry.msgid for entry in catalog.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalog.fuzzy_entries()]
    assert not missing, f"Translate these in {po.relative_to(ROOT)}: {missing}"
    assert not fuzzy, f"Check these fuzzy translations: {fuzzy}"


def _translations(catalog) -> dict:
    return {
        (entry.msgctxt, entry.msgid): entry.msgstr_plural or entry.msgstr
        for entry in catalog
        if entry.msgstr or entry.msgstr_plural
    }


@catalogs
def test_the_compiled_catalog_matches_the_translations(po):
    compiled = _translations(polib.mofile(str(po.with_suffix(".mo"))))
    written = _translations(polib.pofile(str(po)))
    compiled.pop((None, ""), None)  # the .mo's header entry
    assert compiled == written, (
        "django.mo is not django.po compiled: run `manage.py compilemessages --ignore=.venv`."
    )


def test_every_string_marked_for_translation_is_in_the_catalog(tmp_path):
    if shutil.which("xgettext") is None:
        pytest.fail("GNU gettext (xgettext) is needed to extract strings; bin/test installs it.")
    # makemessages writes into locale/; run it on a copy of the project's sources.
    for name in (*APPS, "templates", "manage.py", "locale"):
        source = ROOT / name
        target = tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "nl", "--no-obsolete"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    # makemessages puts a package's strings in the package's own locale/ when it has one.
    new = []
    for po in [
        tmp_path / CATALOG,
        *(tmp_path / "integrations" / "connectors").glob(f"*/{CATALOG}"),
    ]:
        extracted = polib.pofile(str(po))
        new += [e.msgid for e in extracted.untranslated_entries() + extracted.fuzzy_entries()]
    assert not new, (
        f"Marked for translation but not in Dutch yet: {new}. See docs/architecture.md, Translations."
    )
