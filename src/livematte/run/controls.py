"""Live key controls: what each key does, and a terminal reader for when there is no window.

Keys: ``b`` next background, ``m`` next mode (image / blur / colour / passthrough),
``+``/``-`` blur strength, ``p`` privacy (freeze the picture until pressed again), ``q``
quit. The preview window and the terminal reader feed the same :class:`LiveControls`, so
the keys behave alike in both. Every background is built once at start; switching only
swaps which one the compositor uses, so nothing is reallocated per frame.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from typing import TextIO

from ..composite import Background, BlurBackground, ColourBackground, Compositor
from ..io.partials import add_abort_hook, remove_abort_hook

log = logging.getLogger("livematte")

MODES = ("image", "blur", "colour", "passthrough")
# The colour mode's default: a chroma-key green OBS keys out well.
DEFAULT_COLOUR = (0, 177, 64)
BLUR_STEP = 1.25
BLUR_RANGE = (2.0, 200.0)
KEY_HELP = "keys: b background, m mode, +/- blur, p privacy, q quit"


class LiveControls:
    """The live state the keys change, applied to the compositor between frames."""

    def __init__(self, backgrounds: list[Background], blur: float = 25.0) -> None:
        self.backgrounds = backgrounds
        self.index = 0
        self.mode = "image"
        self.privacy = False
        self.quit = False
        self.blur = next((b for b in backgrounds if isinstance(b, BlurBackground)), None)
        self.blur = self.blur or BlurBackground(blur)
        self.colour = next((b for b in backgrounds if isinstance(b, ColourBackground)), None)
        self.colour = self.colour or ColourBackground(DEFAULT_COLOUR)

    @property
    def background(self) -> Background:
        """The background the current mode shows (passthrough shows none)."""
        if self.mode == "blur":
            return self.blur
        if self.mode == "colour":
            return self.colour
        return self.backgrounds[self.index]

    @property
    def passthrough(self) -> bool:
        return self.mode == "passthrough"

    def press(self, key: str) -> str | None:
        """Act on one key; returns a short description of the change, None if ignored."""
        if key in ("q", "Q"):
            self.quit = True
            return "quit"
        if key == "b":
            self.index = (self.index + 1) % len(self.backgrounds)
            self.mode = "image"
            return f"background {self.index + 1}/{len(self.backgrounds)}: {self.background.spec}"
        if key == "m":
            self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
            return f"mode {self.mode}"
        if key in ("+", "="):
            return self._set_blur(self.blur.strength * BLUR_STEP)
        if key in ("-", "_"):
            return self._set_blur(self.blur.strength / BLUR_STEP)
        if key == "p":
            self.privacy = not self.privacy
            return "privacy on (picture frozen)" if self.privacy else "privacy off"
        return None

    def _set_blur(self, strength: float) -> str:
        low, high = BLUR_RANGE
        value = min(high, max(low, strength))
        self.blur.strength = value
        shown = self.backgrounds[self.index]
        if isinstance(shown, BlurBackground):
            shown.strength = value
        return f"blur {value:.0f}"

    def apply(self, compositor: Compositor) -> None:
        """Point the compositor at the current background (a reference swap, no copy)."""
        if not self.passthrough:
            compositor.background = self.background


class TerminalKeys:
    """Single key presses from a terminal, read on a thread, without waiting for Enter.

    Only starts when stdin is a terminal; the terminal's settings are restored on close.
    Ctrl-C still reaches the process as SIGINT (the terminal keeps its signal keys).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdin
        self.keys: queue.Queue[str] = queue.Queue()
        self._saved: object = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def start(self) -> bool:
        """Start reading keys; False (and nothing started) when stdin is not a terminal."""
        if not self.available:
            return False
        if os.name == "posix":
            import termios
            import tty

            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            add_abort_hook(self._restore_terminal)
        self._thread = threading.Thread(target=self._read, name="livematte-keys", daemon=True)
        self._thread.start()
        return True

    def _read(self) -> None:
        while not self._stop.is_set():
            key = self._read_key(0.1)
            if key:
                self.keys.put(key)

    def _read_key(self, timeout: float) -> str:
        if os.name == "nt":  # pragma: no cover - Windows only
            import msvcrt
            import time

            if msvcrt.kbhit():
                return msvcrt.getwch()
            time.sleep(timeout)
            return ""
        import select

        ready, _, _ = select.select([self.stream], [], [], timeout)
        return os.read(self.stream.fileno(), 1).decode(errors="ignore") if ready else ""

    def poll(self) -> list[str]:
        """Keys pressed since the last call."""
        pressed = []
        while True:
            try:
                pressed.append(self.keys.get_nowait())
            except queue.Empty:
                return pressed

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        self._restore_terminal()

    def _restore_terminal(self) -> None:
        """Give the terminal back its line mode (also on an abort, via the abort hook)."""
        remove_abort_hook(self._restore_terminal)
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None
