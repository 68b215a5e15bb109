"""The page's request checks: who may call it and what they may send.

The page can change what a camera shows, so every request must come from the browser the
user opened with the printed URL: a per-run token (cookie or ``Authorization: Bearer``),
a Host header naming this machine's loopback (a DNS-rebinding page carries its own host
name), and, for changes, an Origin of this very page (another site's form or script is
refused). Failures are answered before any handler runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
COOKIE = "livematte_token_{port}"
# Changes (state, uploads) need the Origin checks; reading needs the token only.
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Served without the token (still on an allowed Host): a browser asks for the icon on its
# own, and the icon tells nothing about the run.
PUBLIC_PATHS = frozenset({"/favicon.ico"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    return host.strip("[]") in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


class Guard:
    """The token, Host and Origin checks as one aiohttp middleware."""

    def __init__(self, token: str, allow_any_host: bool = False) -> None:
        self.token = token
        self.allow_any_host = allow_any_host
        self.port = 0  # set once the server is bound

    @property
    def cookie(self) -> str:
        return COOKIE.format(port=self.port)

    def allowed_host(self, host: str | None) -> bool:
        if self.allow_any_host:
            return bool(host)
        return host in {f"{name}:{self.port}" for name in LOOPBACK_HOSTS}

    def same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        # Browsers always send Origin on a POST; tools such as curl send none.
        return origin is None or origin == f"http://{request.host}"

    def presented(self, request: web.Request) -> str | None:
        """The token the request carries (URL, header or cookie), None if none."""
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth.removeprefix("Bearer ").strip()
        return request.query.get("token") or request.cookies.get(self.cookie)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.allowed_host(request.headers.get("Host")):
            raise _refuse(403, "this page answers on 127.0.0.1, localhost or [::1] only")
        if request.path in PUBLIC_PATHS and request.method == "GET":
            return await handler(request)
        token = self.presented(request)
        if token is None:
            raise _refuse(401, "open the URL livematte printed; it carries the page's token")
        if not secrets.compare_digest(token.encode(), self.token.encode()):
            raise _refuse(403, "wrong token; open the URL this run of livematte printed")
        if request.method in CHANGING_METHODS and not self.same_origin(request):
            raise _refuse(403, "changes are only taken from the control page itself")
        response = await handler(request)
        if request.query.get("token") and not response.prepared:
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response


def _refuse(status: int, message: str) -> web.HTTPException:
    kind = {401: web.HTTPUnauthorized, 403: web.HTTPForbidden}[status]
    return kind(text=f'{{"error": "{message}"}}', content_type="application/json")
