"""Table rows rendered once and kept: a run's row on History, a line's on run details;
and a page's whole content kept while what it is drawn from stays the same.

A row arrives as the plain tuple of the values it shows (History's and run details', see
``runs.selectors.HISTORY_FIELDS`` and ``LINE_ROW_FIELDS``), and its HTML is a function of
what it is drawn from, so its cache key is a digest of exactly that: the tuple, the
shared context (the company in its links, what the reader may do with it), the language,
the time zone, the row template's source and the portal's version. A row whose run or
line changed in any way (status, counters, re-offer mark, correction, resolution) gets a
new key, so a cached row can never be out of date; old keys simply expire. One
``get_many`` per page fetches the rows already made, and only the missing ones are
rendered, each from the model ``build`` makes of its tuple — a page whose rows were all
rendered before builds none. Rows that move without a write (an active run's elapsed
time) are rendered afresh every time.

``cached_content`` keeps a page's content (everything inside the base template's main
block) under a digest of a ``state`` the view reads in one narrow query: History's is the
version of each run on the page (runs.selectors.history_versions), so a request for a
page whose runs did not change reads three columns instead of rendering anything.

The view has checked membership and scoped the rows to the company before they reach
here; the key includes the row's primary key and the company, so a row is only ever
fetched for the very row the view already read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache as memoize
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.db.models import Model
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

# Keys change with the data, so nothing needs deleting; a day bounds what unused rows
# occupy in Redis.
ROW_SECONDS = 24 * 3600


_LOAD = re.compile(r"{%\s*load\s+([^%]+?)\s*%}")


@memoize
def _template_version(template_name: str) -> str:
    """The row template's source, the source of the tag libraries it loads (a filter
    that words an outcome differently) and the portal's release: a deploy that changes
    the row's markup, labels or formats starts from fresh keys."""
    template = get_template(template_name)
    try:
        release = version("cloud-portal")
    except PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        release = ""
    source = template.template.source  # type: ignore[attr-defined]
    libraries = template.template.engine.libraries  # type: ignore[attr-defined]
    digest = hashlib.blake2b(f"{release}\0{source}".encode(), digest_size=8)
    for names in _LOAD.findall(source):
        for name in names.split():
            module = import_module(libraries[name])
            digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def _shared(template_names: Sequence[str]) -> tuple[Any, ...]:
    """What every key of these templates' output holds: their versions, the language and
    the time zone."""
    return (
        [_template_version(name) for name in template_names],
        get_language(),
        timezone.get_current_timezone_name(),
    )


def cached_rows(
    template_name: str,
    rows: Sequence[tuple[Any, ...]],
    *,
    name: str,
    context: Mapping[str, Any],
    build: Callable[[tuple[Any, ...]], Model],
    fresh: Callable[[tuple[Any, ...]], bool] = lambda row: False,
) -> list[SafeString]:
    """Each of ``rows`` rendered through ``template_name`` (``build(row)`` as ``name``
    beside ``context``), from the cache where it was rendered before from the same tuple."""
    template = get_template(template_name)
    shared = (
        _shared([template_name]),
        sorted((key, repr(value)) for key, value in context.items()),
    )
    keys: dict[int, str] = {}
    for index, row in enumerate(rows):
        if not fresh(row):
            digest = hashlib.blake2b(repr((shared, row)).encode(), digest_size=16)
            keys[index] = f"row:{template_name}:{digest.hexdigest()}"
    found = cache.get_many(list(keys.values())) if keys else {}
    made: dict[str, str] = {}
    html: list[SafeString] = []
    for index, row in enumerate(rows):
        key = keys.get(index)
        text = found.get(key) if key else None
        if text is None:
            text = template.render({**context, name: build(row)})
            if key:
                made[key] = text
        # Our own template's output, escaped as it was rendered.
        html.append(mark_safe(text))  # noqa: S308
    if made:
        cache.set_many(made, ROW_SECONDS)
    return html


def cached_content(
    template_name: str,
    *,
    includes: Sequence[str] = (),
    state: Any,
    render: Callable[[], str],
) -> SafeString:
    """``render()``, or what it returned before for the same ``state`` with the same
    language, time zone, ``template_name`` and the templates it ``includes`` (their
    source, tag libraries and the release).

    ``state`` must hold everything the content is drawn from beyond those: the rows'
    versions, the reader's rights, the company, the query string."""
    shared = _shared([template_name, *includes])
    digest = hashlib.blake2b(repr((shared, state)).encode(), digest_size=16)
    key = f"content:{template_name}:{digest.hexdigest()}"
    text = cache.get(key)
    if text is None:
        text = render()
        cache.set(key, text, ROW_SECONDS)
    # Our own template's output, escaped as it was rendered.
    return mark_safe(text)  # noqa: S308
