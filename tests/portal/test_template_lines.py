"""Templates stay readable: no line over 200 characters (issue 16).

A long line hides a second element or a condition in a diff; a tag with many attributes
is wrapped one attribute group a line instead.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 200


def test_no_template_line_is_longer_than_the_limit():
    too_long = [
        f"{path.relative_to(ROOT)}:{number} ({len(line)} characters)"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > LIMIT
    ]
    assert not too_long, f"Wrap these template lines to {LIMIT} characters or fewer: {too_long}"
