"""Table rows rendered once and kept: a run's row on History, a line's on run details;
and a page's whole content kept while what it is drawn from stays the same.

A row's HTML is a function of what it is drawn from, so its cache key is a digest of
exactly that: the tuple of values it was read as (or every loaded field of a model row
and of the rows it was selected with), the shared context (the company in its links,
what the reader may do with it), the language, the time zone, the row template's source
and the portal's version. A row whose run or line changed in any
way (status, counters, re-offer mark, correction, resolution) gets a new key, so a
cached row can never be out of date; old keys simply expire. One ``get_many`` per page
fetches the rows already made, and only the missing ones are rendered. Rows that move
without a write (an active run's elapsed time) are rendered afresh every time.

A row may also arrive as the plain tuple of the values it shows (History's and run
details', see ``runs.selectors.HISTORY_FIELDS`` and ``LINE_ROW_FIELDS``): the tuple is
then its state, and the model is built from it only when the row has to be rendered — a
page whose rows were all rendered before builds none.

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


def _state(row: Model) -> list[Any]:
    """Every value the row was loaded with, its annotations and its selected relations."""
    values: list[Any] = [(k, v) for k, v in vars(row).items() if not k.startswith("_")]
    for name, related in row._state.fields_cache.items():
        if related is not None:
            values.append((name, _state(related)))
    return values


def cached_rows[Row](
    template_name: str,
    rows: Sequence[Row],
    *,
    name: str,
    context: Mapping[str, Any],
    fresh: Callable[[Row], bool] = lambda row: False,
    state: Callable[[Row], Any] = _state,  # type: ignore[assignment]
    build: Callable[[Row], Model] = lambda row: row,  # type: ignore[assignment,return-value]
) -> list[SafeString]:
    """Each of ``rows`` rendered through ``template_name`` (``build(row)`` as ``name``
    beside ``context``), from the cache where it was rendered before with the same
    ``state(row)``. By default a row is a model and its state every value it was loaded
    with; ``state`` and ``build`` let a row be a tuple of values instead."""
    template = get_template(template_name)
    shared = (
        _template_version(template_name),
        get_language(),
        timezone.get_current_timezone_name(),
        sorted((key, repr(value)) for key, value in context.items()),
    )
    keys: dict[int, str] = {}
    for index, row in enumerate(rows):
        if not fresh(row):
            digest = hashlib.blake2b(repr((shared, state(row))).encode(), digest_size=16)
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
    shared = (
        [_template_version(name) for name in (template_name, *includes)],
        get_language(),
        timezone.get_current_timezone_name(),
    )
    digest = hashlib.blake2b(repr((shared, state)).encode(), digest_size=16)
    key = f"content:{template_name}:{digest.hexdigest()}"
    text = cache.get(key)
    if text is None:
        text = render()
        cache.set(key, text, ROW_SECONDS)
    # Our own template's output, escaped as it was rendered.
    return mark_safe(text)  # noqa: S308
