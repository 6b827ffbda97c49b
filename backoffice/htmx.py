"""One way for a view to answer a page or its htmx partial, so that history keeps working.

htmx asks for a partial (an element's new content) and may push the URL into the history. That URL
must then give the whole page whenever the browser goes back to it: on Back and Forward htmx asks
again with HX-History-Restore-Request (its history cache is off, so that no personal data stays in
localStorage), on reload the browser asks plainly, and `Vary: HX-Request` keeps the browser's own
cache from handing a stored partial to a page load.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from backoffice.http import HtmxHttpRequest


def wants_partial(request: HtmxHttpRequest, target: str) -> bool:
    """True for an htmx request that will swap the element `target`, and for nothing else."""
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


def render_page(
    request: HtmxHttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str,
    target: str,
    status: int = 200,
) -> HttpResponse:
    """`template`, or its `partial` when htmx asks to swap the element with id `target`."""
    name = f"{template}#{partial}" if wants_partial(request, target) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
