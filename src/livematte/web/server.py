"""The control page's server: aiohttp on its own thread and event loop.

Nothing here runs on the live loop's thread. The page reads and changes the one
:class:`~livematte.controls.LiveControls` state (the live loop picks changes up at its
next frame), watches the output through :class:`~livematte.web.stream.MjpegSink`, and adds
uploaded backgrounds. An error in a request is answered (400 for a bad value, 500 for a
fault, logged) and never reaches the video.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import secrets
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from ..controls import LiveControls
from ..errors import UserError
from .addresses import openable_hosts
from .favicon import FAVICON
from .guards import Guard
from .settings import SavedSettings, forget_settings, save_settings, settings_path
from .stream import MjpegSink
from .thumbs import Thumbnails
from .uploads import MAX_UPLOAD_BYTES, accept_upload, default_name

log = logging.getLogger("livematte")

STATE_MAX_BYTES = 16 * 1024
SNAPSHOT_WAIT_SECONDS = 2.0


class ControlServer:
    """Serves the page, its API and the stream; :meth:`start` returns the URL to open."""

    def __init__(
        self,
        controls: LiveControls,
        stream: MjpegSink,
        stats: Callable[[], dict[str, Any]],
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        allow_remote: bool = False,
        uploads: Path,
        settings: Path | None = None,
        saved: SavedSettings | None = None,
        fallback: bool = True,
    ) -> None:
        self.controls = controls
        self.stream = stream
        self.stats = stats
        self.host, self.port, self.fallback = host, port, fallback
        self.uploads = uploads
        # Where the page saves its choices, whether it may (--no-saved-settings: neither
        # read nor written) and what this run restored from there.
        self.saved = saved or SavedSettings(settings or settings_path(), enabled=True)
        self.token = secrets.token_urlsafe(24)
        self.guard = Guard(self.token, allow_any_host=allow_remote)
        self.thumbnails = Thumbnails()
        self.errors = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._closing = False
        self._frame_events: set[asyncio.Event] = set()

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.urls()[0]

    def urls(self) -> list[str]:
        """The page's URLs a browser can open (an any-address names this machine's own)."""
        return [
            f"http://{f'[{host}]' if ':' in host else host}:{self.port}/?token={self.token}"
            for host in openable_hosts(self.host)
        ]

    def start(self) -> str:
        """Bind and serve on a thread; the URL (with the token) once it listens."""
        self._thread = threading.Thread(target=self._serve, name="livematte-page", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)
        if self._failure is not None:
            raise UserError(
                f"The control page cannot listen on {self.host}:{self.port} "
                f"({self._failure}); choose another with --control PORT or use --no-control."
            )
        self.stream.listeners.append(self._wake_streams)
        return self.url

    def close(self) -> None:
        loop, self._closing = self._loop, True
        if loop is None or self._thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=5.0)
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=5.0)
        self.stream.close()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._bind())
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._failure = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _bind(self) -> None:
        app = web.Application(
            middlewares=[self._errors, self.guard.middleware],
            client_max_size=MAX_UPLOAD_BYTES + 64 * 1024,
        )
        app.add_routes(
            [
                web.get("/", self._page),
                web.get("/favicon.ico", self._favicon),
                web.get("/stream.mjpg", self._stream),
                web.get("/snapshot.jpg", self._snapshot),
                web.get("/api/state", self._get_state),
                web.post("/api/state", self._post_state),
                web.delete("/api/settings", self._forget_settings),
                web.post("/api/backgrounds", self._upload),
                web.get("/api/backgrounds/{index}/thumb.jpg", self._thumb),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
        except OSError as exc:
            if not (self.fallback and exc.errno == errno.EADDRINUSE):
                raise
            log.warning("port %d is busy; the control page takes a free one", self.port)
            site = web.TCPSite(self._runner, self.host, 0)
            await site.start()
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port nowhere else
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.guard.port = self.port

    async def _shutdown(self) -> None:
        for event in self._frame_events:
            event.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _wake_streams(self) -> None:
        """Called on the encoder's thread after each new JPEG."""
        loop = self._loop
        if loop is not None and self._frame_events:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._set_frame_events)

    def _set_frame_events(self) -> None:
        for event in self._frame_events:
            event.set()

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every fault becomes an answer; none escapes to the server or the video."""
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - logged, answered, the run goes on
            self.errors += 1
            log.warning("control page: %s failed (%s)", request.path, exc)
            return _json({"error": "internal error; see livematte's log"}, 500)

    # --- handlers -------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        html = resources.files("livematte.web").joinpath("static/index.html").read_text("utf-8")
        return web.Response(
            text=html,
            content_type="text/html",
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                "style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'none'",
                "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer",
            },
        )

    async def _favicon(self, request: web.Request) -> web.Response:
        return web.Response(
            body=FAVICON,
            content_type="image/x-icon",
            headers={"Cache-Control": "max-age=86400"},
        )

    @property
    def settings(self) -> Path:
        return self.saved.path

    def state(self) -> dict[str, Any]:
        return {**self.controls.state(), "stats": self.stats(), "saved": self.saved.to_dict()}

    async def _get_state(self, request: web.Request) -> web.Response:
        return _json(self.state())

    async def _post_state(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > STATE_MAX_BYTES:
            raise _too_large(STATE_MAX_BYTES)
        body = await request.content.read(STATE_MAX_BYTES + 1)
        if len(body) > STATE_MAX_BYTES:
            raise _too_large(STATE_MAX_BYTES)
        try:
            changes = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _json({"error": "the body must be a JSON object"}, 400)
        if not isinstance(changes, dict):
            return _json({"error": "the body must be a JSON object"}, 400)
        try:
            message = self.controls.apply(changes)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        self._save()
        return _json({**self.state(), "message": message})

    def _save(self) -> None:
        if not self.saved.enabled:
            return
        try:
            save_settings(self.controls.state(), self.saved.path)
        except OSError as exc:
            log.warning("control page: settings not saved (%s)", exc)

    async def _forget_settings(self, request: web.Request) -> web.Response:
        """Delete the saved choices (what shows now stays; the next change saves again)."""
        if not self.saved.enabled:
            return _json(
                {"error": "this run leaves saved settings alone (--no-saved-settings)"}, 409
            )
        try:
            forget_settings(self.saved.path)
        except OSError as exc:
            return _json({"error": f"the saved settings could not be deleted ({exc})"}, 500)
        self.saved.restored = []
        return _json({**self.state(), "message": f"forgot the saved settings ({self.saved.path})"})

    async def _upload(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_UPLOAD_BYTES:
            raise _too_large(MAX_UPLOAD_BYTES)
        data = await request.read()
        name = request.query.get("name", "") or default_name(data)
        if not name:
            return _json(
                {
                    "error": "name the upload as POST /api/backgrounds?name=FILE.jpg (its "
                    "extension says which kind it is): its first bytes are no picture or "
                    "video this page takes"
                },
                400,
            )
        loop = asyncio.get_running_loop()
        try:
            background = await loop.run_in_executor(None, accept_upload, name, data, self.uploads)
        except UserError as exc:
            return _json({"error": str(exc)}, 400)
        index = self.controls.add_background(background)
        return _json({**self.state(), "added": index}, 201)

    async def _thumb(self, request: web.Request) -> web.Response:
        specs = self.controls.state()["backgrounds"]
        try:
            spec = specs[int(request.match_info["index"])]
        except (ValueError, IndexError):
            return _json({"error": "no such background"}, 404)
        loop = asyncio.get_running_loop()
        jpeg = await loop.run_in_executor(None, self.thumbnails.get, spec)
        return web.Response(body=jpeg, content_type="image/jpeg")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "multipart/x-mixed-replace; boundary=frame",
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        event = asyncio.Event()
        self._frame_events.add(event)
        self.stream.watch()
        sent = 0
        try:
            while not self._closing:
                # A quiet output (privacy, a paused camera) still notices a gone client.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(event.wait(), 1.0)
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                event.clear()
                sequence, jpeg = self.stream.sequence, self.stream.jpeg
                if sequence == sent or not jpeg:
                    continue
                sent = sequence
                head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                await response.write(head.encode() + jpeg + b"\r\n")
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.stream.unwatch()
            self._frame_events.discard(event)
        return response

    async def _snapshot(self, request: web.Request) -> web.Response:
        self.stream.watch()
        try:
            loop = asyncio.get_running_loop()
            after = self.stream.sequence
            _, jpeg = await loop.run_in_executor(
                None, self.stream.next_jpeg, after, SNAPSHOT_WAIT_SECONDS
            )
        finally:
            self.stream.unwatch()
        if not jpeg:
            return _json({"error": "no frame yet"}, 503)
        return web.Response(
            body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"}
        )


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


def _too_large(limit: int) -> web.HTTPException:
    return web.HTTPRequestEntityTooLarge(
        max_size=limit,
        actual_size=limit + 1,
        text=json.dumps({"error": f"the body is over {limit} bytes"}),
        content_type="application/json",
    )
