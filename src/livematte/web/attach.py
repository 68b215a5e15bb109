"""Starting the control page beside a live run: where it listens, what it restores."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from ..controls import CHANGE_KEYS
from ..errors import UserError
from .guards import is_loopback
from .settings import SavedSettings, load_settings, settings_path, uploads_folder
from .stream import MjpegSink
from .uploads import open_background, saved_uploads

log = logging.getLogger("livematte")

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765


def control_address(
    spec: str, camera: bool, allow_remote: bool = False
) -> tuple[str, int, bool] | None:
    """``--control`` as (host, port, fall back to a free port when busy); None when off.

    ``auto`` is on for cameras and off for files played with --live; ``0`` takes a free
    port; a host that is not loopback needs ``--control-allow-remote``.
    """
    text = spec.strip().lower()
    if text in ("off", "no", "none", "false"):
        return None
    if text in ("auto", ""):
        return (DEFAULT_HOST, DEFAULT_PORT, True) if camera else None
    if text in ("on", "yes", "true"):
        return DEFAULT_HOST, DEFAULT_PORT, True
    host, _, port_text = spec.strip().rpartition(":")
    host = host.strip("[]") or DEFAULT_HOST
    if not port_text.isdigit() or int(port_text) > 65535:
        raise UserError(
            f"--control {spec!r} is not [HOST:]PORT (e.g. 8765 or 127.0.0.1:8765, 0 = any "
            "free port); use --no-control to turn the page off."
        )
    if not is_loopback(host) and not allow_remote:
        raise UserError(
            f"--control {spec} would let other machines change your camera; add "
            "--control-allow-remote if that is what you want."
        )
    return host, int(port_text), False


def restore(controls: Any, saved: dict[str, Any]) -> list[str]:
    """Apply saved settings one by one (in apply's order), skipping any that no longer fit
    (a background file that was not given this time); the keys restored."""
    restored = []
    for key in CHANGE_KEYS:
        if key in saved:
            try:
                controls.apply({key: saved[key]})
            except ValueError as exc:
                log.warning("the saved page setting %s was not restored (%s)", key, exc)
            else:
                restored.append(key)
    return restored


def start_control(
    driver: Any,
    outputs: list[Any],
    live: Any,
    *,
    camera: bool,
    flags_given: frozenset[str] = frozenset(),
    settings: Path | None = None,
    uploads: Path | None = None,
) -> Any:
    """Start the page for ``driver`` (its stream joins ``outputs``); None when it is off."""
    address = control_address(live.control, camera, live.control_allow_remote)
    if address is None:
        return None
    from .server import ControlServer

    settings = settings or settings_path()
    uploads = uploads or uploads_folder()
    controls = driver.controls
    for path in saved_uploads(uploads):
        try:
            controls.add_background(open_background(path))
        except UserError as exc:
            log.warning("skipping the uploaded background %s: %s", path.name, exc)
    saved = SavedSettings(settings, enabled=live.saved_settings)
    if saved.enabled:
        saved.restored = restore(controls, load_settings(settings, flags_given))
        if saved.restored:
            log.info(
                "control page: restored %s from %s (--no-saved-settings or the page's "
                "'forget saved settings' to drop them)",
                ", ".join(saved.restored),
                settings,
            )
    stream = MjpegSink()
    outputs.append(stream)
    host, port, fallback = address
    server = ControlServer(
        controls,
        stream,
        driver.page_stats,
        host=host,
        port=port,
        allow_remote=live.control_allow_remote,
        uploads=uploads,
        saved=saved,
        fallback=fallback,
    )
    try:
        server.start()
    except BaseException:
        stream.close()
        raise
    if not is_loopback(host):
        log.warning(
            "the control page listens on %s: anyone on the network with its URL can change "
            "your camera, and the traffic is not encrypted",
            host,
        )
    first, *others = server.urls()
    print(f"livematte: control page {first}", file=sys.stderr, flush=True)
    for url in others:
        print(f"livematte: control page from other machines: {url}", file=sys.stderr, flush=True)
    return server
