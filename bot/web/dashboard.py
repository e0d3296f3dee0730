"""`GET /dashboard`: one self-contained HTML page (inline CSS and JS, SVG charts it draws itself).

The page holds no data and no secret: its script polls the `/api/*` routes every 5 s, sending the bearer
token that the viewer gave once (as `?token=` or in its form) and that only the tab's sessionStorage keeps.
A Content-Security-Policy that admits only this page's own inline script and style and requests to this
server makes "no resource from outside the bot" a rule the browser enforces, not just a habit.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from aiohttp import web

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def _load_page() -> str:
    return files("bot.web").joinpath("dashboard.html").read_text(encoding="utf-8")


def _csp(page: str) -> str:
    """A policy admitting exactly the page's inline script and style blocks (by hash) and same-origin fetches."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for tag, body in _INLINE.findall(page):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[tag].append(f"'sha256-{digest}'")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(hashes["script"]),
            "style-src " + " ".join(hashes["style"]),
            "connect-src 'self'",
            "img-src data:",  # only the empty favicon, which spares the browser a /favicon.ico request
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


PAGE = _load_page()  # read once at import: serving it is then a memory copy, never file I/O on the loop
HEADERS = {
    "Content-Security-Policy": _csp(PAGE),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


async def dashboard_route(_request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", charset="utf-8", headers=HEADERS)
