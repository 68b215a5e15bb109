"""The control page's API and its guards, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from live_fakes import wait_for
from web_fakes import page, solid

from livematte.composite import parse_backgrounds
from livematte.controls import LiveControls
from livematte.errors import UserError
from livematte.io.sinks import Sink
from livematte.web.attach import control_address, restore
from livematte.web.settings import load_settings, save_settings


def request(server, path, *, method="GET", body=None, headers=None, token=True):
    """(status, body bytes, headers) for one request; ``token`` adds the Bearer header."""
    all_headers = {"Authorization": f"Bearer {server.token}"} if token else {}
    all_headers.update(headers or {})
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", data=body, method=method, headers=all_headers
    )
    try:
        # The timeout only guards against a hang: a loaded machine is slow at everything.
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def post_state(server, changes, **kw):
    body = json.dumps(changes).encode()
    return request(server, "/api/state", method="POST", body=body, **kw)


@pytest.fixture
def server(tmp_path: Path):
    started = page(tmp_path)
    yield started
    started.close()


def test_state_reads_and_changes_take_effect(server) -> None:
    status, body, _ = request(server, "/api/state")
    state = json.loads(body)
    assert status == 200 and state["background"] == "#ff0000" and state["mode"] == "image"
    assert state["stats"]["fps"] == 30.0
    status, body, _ = post_state(server, {"background": "#00ff00"})
    assert status == 200
    assert server.controls.mode == "colour" and server.controls.colour.colour == (0, 255, 0)
    assert server.controls.take_change()  # the live loop is told
    post_state(server, {"blur": 60, "mode": "blur"})
    assert (
        server.controls.background.spec.startswith("blur") and server.controls.blur.strength == 60
    )


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"blur": 900}, "between"),
        ({"mode": "sepia"}, "mode must be"),
        ({"background": "/etc/passwd"}, "not in the gallery"),
        ({"privacy": "yes"}, "true or false"),
        ({"volume": 3}, "unknown setting"),
    ],
)
def test_bad_values_are_400_with_a_reason_and_change_nothing(server, changes, words) -> None:
    before = server.controls.state()
    status, body, _ = post_state(server, {"privacy": True, **changes})
    assert status == 400 and words in json.loads(body)["error"]
    assert server.controls.state() == before


def test_an_empty_change_is_400_and_tells_the_run_nothing(server) -> None:
    """``{}`` changes nothing: the run must not log an empty change line."""
    server.controls.take_change()
    status, body, _ = post_state(server, {})
    assert status == 400 and "nothing to change" in json.loads(body)["error"]
    assert not server.controls.take_change()


def test_no_token_is_401_and_a_wrong_one_403(server) -> None:
    assert request(server, "/api/state", token=False)[0] == 401
    assert request(server, "/stream.mjpg", token=False)[0] == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert request(server, "/api/state", token=False, headers=wrong)[0] == 403
    assert request(server, "/?token=nope", token=False)[0] == 403
    assert post_state(server, {"privacy": True}, token=False)[0] == 401
    assert not server.controls.privacy


def test_the_url_token_sets_a_strict_http_only_cookie_that_then_suffices(server) -> None:
    status, body, headers = request(server, f"/?token={server.token}", token=False)
    assert status == 200 and b"<title>livematte</title>" in body
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    pair = cookie.split(";")[0]
    assert request(server, "/api/state", token=False, headers={"Cookie": pair})[0] == 200


def test_a_foreign_host_header_is_refused(server) -> None:
    """DNS rebinding: evil.example resolving to 127.0.0.1 still sends its own Host."""
    for host in (f"evil.example:{server.port}", "127.0.0.1:1", "localhost"):
        assert request(server, "/api/state", headers={"Host": host})[0] == 403
    assert request(server, "/api/state", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_a_foreign_origin_cannot_change_anything(server) -> None:
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": f"http://127.0.0.1:{server.port}", "Sec-Fetch-Site": "cross-site"},
    ):
        assert post_state(server, {"privacy": True}, headers=headers)[0] == 403
    assert not server.controls.privacy
    own = {"Origin": f"http://127.0.0.1:{server.port}"}
    assert post_state(server, {"privacy": True}, headers=own)[0] == 200
    assert server.controls.privacy


@pytest.mark.slow
def test_oversize_bodies_are_refused(server) -> None:
    big = b'{"mode": "' + b"x" * 20000 + b'"}'
    assert request(server, "/api/state", method="POST", body=big)[0] == 413
    huge = b"\0" * (50 * 1024 * 1024 + 1)
    status, _, _ = request(server, "/api/backgrounds?name=big.png", method="POST", body=huge)
    assert status == 413
    assert not any(server.uploads.glob("*"))


def _png_header(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, data, words",
    [
        ("noise.png", bytes(np.random.default_rng(1).integers(0, 256, 4000, np.uint8)), "cannot"),
        ("giant.png", _png_header(60000, 60000), "60000x60000"),
        ("clip.mp4", b"\0\0\0\x18ftypmp42" + bytes(3000), "clip.mp4 was cut short"),
        ("clip.webm", bytes(range(256)) * 8, "clip.webm cannot be read as a video"),
        ("notes.txt", b"hello", "not an image or a video"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason_and_leave_nothing(server, name, data, words):
    before = server.controls.state()
    status, body, _ = request(server, f"/api/backgrounds?name={name}", method="POST", body=data)
    assert status == 400 and words in json.loads(body)["error"], body
    assert server.controls.state() == before
    assert not (server.uploads.exists() and any(server.uploads.iterdir()))


def test_an_uploaded_image_joins_the_gallery_and_can_be_shown(server) -> None:
    ok, png = cv2.imencode(".png", solid(64, 36, (10, 200, 30)))
    status, body, _ = request(
        server,
        "/api/backgrounds?name=" + urllib.parse.quote("../../My Beach.png"),
        method="POST",
        body=png.tobytes(),
    )
    added = json.loads(body)["added"]
    assert status == 201 and added == 2
    stored = list(server.uploads.iterdir())
    assert [p.name for p in stored] == ["My_Beach.png"]  # no folders from the name
    assert post_state(server, {"background": added})[0] == 200
    assert server.controls.background.spec == str(stored[0])
    status, jpeg, headers = request(server, f"/api/backgrounds/{added}/thumb.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8"


def test_an_upload_without_a_name_is_named_by_its_kind_or_refused_saying_how(server) -> None:
    ok, png = cv2.imencode(".png", solid(64, 36, (10, 200, 30)))
    status, body, _ = request(server, "/api/backgrounds", method="POST", body=png.tobytes())
    assert status == 201 and json.loads(body)["added"] == 2, body
    assert [p.name for p in server.uploads.iterdir()] == ["background.png"]
    before = server.controls.state()
    status, body, _ = request(server, "/api/backgrounds", method="POST", body=b"hello")
    assert status == 400 and "?name=FILE.jpg" in json.loads(body)["error"]
    assert server.controls.state() == before


def test_a_blur_from_the_page_shows_in_the_state_index(tmp_path: Path) -> None:
    """``blur:N`` shows the gallery's own blur entry, and the state says which; a blur the
    gallery does not hold is no gallery entry (index null), never the old picture's."""
    server = page(tmp_path, "#ff0000", "blur")
    try:
        status, body, _ = post_state(server, {"background": "blur:40"})
        state = json.loads(body)
        assert status == 200 and (state["mode"], state["background"]) == ("blur", "blur:40")
        assert state["index"] == 1 == json.loads(request(server, "/api/state")[1])["index"]
        server.controls.press("b")  # the next background after the blur entry: the first
        assert json.loads(request(server, "/api/state")[1])["index"] == 0
    finally:
        server.close()
    server = page(tmp_path, "#ff0000", "#00ff00")
    try:
        post_state(server, {"background": 1})
        state = json.loads(post_state(server, {"background": "blur:40"})[1])
        assert state["mode"] == "blur" and state["index"] is None
        state = json.loads(post_state(server, {"background": "#00ff00"})[1])
        assert state["index"] == 1  # the gallery's own colour
    finally:
        server.close()


@pytest.mark.slow
def test_stream_and_snapshot_send_jpegs_of_the_output_only_while_watched(server) -> None:
    stream = server.stream
    stream.repeat(solid(1280, 720))
    assert stream.encoded == 0  # nobody watches: nothing copied or encoded
    feeding = threading.Event()

    def feed() -> None:
        while not feeding.is_set():
            stream.repeat(solid(1280, 720, (255, 0, 0)))
            time.sleep(0.02)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        status, jpeg, _ = request(server, "/snapshot.jpg")
        assert status == 200
        picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (360, 640, 3)  # preview size
        assert picture[100, 100, 2] > 200 and picture[100, 100, 0] < 50  # red, in BGR
        req = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/stream.mjpg",
            headers={"Authorization": f"Bearer {server.token}"},
        )
        # The timeout only guards against a hang: a loaded machine is slow at everything.
        with urllib.request.urlopen(req, timeout=120) as response:
            assert response.headers["Content-Type"].startswith("multipart/x-mixed-replace")
            chunk = response.read(40000)
        assert chunk.count(b"\xff\xd8") >= 2  # several frames
    finally:
        feeding.set()
        thread.join()
    # A hang guard only: how soon the server notices the reader left is no test's business.
    deadline = time.monotonic() + 60
    while stream.watchers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.watchers == 0
    encoded = stream.encoded
    stream.repeat(solid(1280, 720))
    time.sleep(0.1)
    assert stream.encoded == encoded


def test_page_changes_are_saved_and_restored_unless_a_flag_overrides(tmp_path: Path) -> None:
    path = tmp_path / "live.toml"
    save_settings(
        {"background": "blur:40", "mode": "blur", "blur": 40.0, "colour": "#123456"}, path
    )
    assert load_settings(path) == {
        "background": "blur:40",
        "mode": "blur",
        "blur": 40.0,
        "colour": "#123456",
    }
    assert load_settings(path, frozenset({"background"})) == {}  # -b: none of the saved look
    assert "blur" not in load_settings(path, frozenset({"blur"}))
    controls = LiveControls(parse_backgrounds(["#ff0000"]))
    controls.apply(load_settings(path))
    assert controls.mode == "blur" and controls.blur.strength == 40.0


def test_a_change_on_the_page_is_saved_and_a_restart_restores_it(server) -> None:
    post_state(server, {"colour": "#abcdef"})
    post_state(server, {"blur": 60, "mode": "blur"})
    saved = load_settings(server.settings)
    assert saved["colour"] == "#abcdef" and saved["mode"] == "blur"
    controls = LiveControls(parse_backgrounds(["#ff0000", "blur"]))
    restore(controls, {**saved, "background": "/no/longer/given.png"})
    assert (controls.mode, controls.blur.strength, controls.colour.colour) == (
        "blur",
        60,
        (0xAB, 0xCD, 0xEF),
    )


def test_control_addresses() -> None:
    assert control_address("auto", camera=True) == ("127.0.0.1", 8765, True)
    assert control_address("auto", camera=False) is None
    assert control_address("off", camera=True) is None
    assert control_address("0", camera=False) == ("127.0.0.1", 0, False)
    assert control_address("[::1]:9000", camera=True) == ("::1", 9000, False)
    with pytest.raises(UserError, match="control-allow-remote"):
        control_address("0.0.0.0:8765", camera=True)
    assert control_address("0.0.0.0:8765", camera=True, allow_remote=True)[0] == "0.0.0.0"
    with pytest.raises(UserError, match="HOST:]PORT"):
        control_address("eight", camera=True)


def test_a_fault_in_a_handler_is_a_500_and_the_server_keeps_serving(server) -> None:
    server.stats = lambda: 1 / 0
    assert request(server, "/api/state")[0] == 500
    server.stats = lambda: {}
    assert request(server, "/api/state")[0] == 200


def test_a_busy_port_falls_back_to_a_free_one(tmp_path: Path) -> None:
    first = page(tmp_path)
    try:
        from livematte.web.server import ControlServer

        second = ControlServer(
            first.controls, first.stream, dict, port=first.port, uploads=tmp_path / "u"
        )
        second.start()
        try:
            assert second.port not in (first.port, 0)
            assert request(second, "/api/state")[0] == 200
        finally:
            second.close()
    finally:
        first.close()


def test_keys_and_page_change_one_state(server) -> None:
    controls = server.controls
    controls.press("p")
    assert json.loads(request(server, "/api/state")[1])["privacy"] is True
    post_state(server, {"privacy": False})
    assert not controls.privacy
    controls.press("b")
    state = json.loads(request(server, "/api/state")[1])
    assert state["index"] == 1 and state["background"] == controls.background.spec


class _GatedRecorder(Sink):
    """A live output that keeps each fresh frame and, at the frame counts in ``changes``,
    waits while another thread applies that change: the change lands at a known frame
    however fast or slow this machine is (the waits are hang guards only)."""

    keepalive = True

    def __init__(self, controls_of, changes: dict[int, dict], stop, stop_after: int) -> None:
        self.fresh: list[np.ndarray] = []
        self.controls_of, self.stop, self.stop_after = controls_of, stop, stop_after
        self.reached = {count: threading.Event() for count in changes}
        self.applied = {count: threading.Event() for count in changes}
        self.changes = changes

    def page(self) -> None:
        """The control page's side, on a thread of its own."""
        for count, change in self.changes.items():
            assert self.reached[count].wait(60), f"frame {count} never came"
            self.controls_of().apply(change)
            self.applied[count].set()

    def write(self, frame, image) -> None:
        self.fresh.append(image.copy())
        count = len(self.fresh)
        if count in self.reached:
            self.reached[count].set()
            assert self.applied[count].wait(60), "the page thread never applied its change"
        if count >= self.stop_after:
            self.stop.set("test")

    def repeat(self, image) -> None:
        pass


@pytest.mark.slow
def test_a_change_from_another_thread_reaches_the_next_frames() -> None:
    """Privacy from the page freezes the output, as the key does; colour then follows."""
    from live_fakes import CameraScript, HalfMatter, ScriptedCapture

    from livematte.config import Config
    from livematte.io.camera import CameraSource
    from livematte.run.interrupt import StopRequest
    from livematte.run.live import LiveDriver
    from livematte.stages import Stages

    config = Config()
    config.background.specs = ["#ff0000"]
    config.live.auto_skip = False
    config.refine.enabled = config.temporal.enabled = False
    stages = Stages(config, matter=HalfMatter())
    source = CameraSource("0", opener=CameraScript([ScriptedCapture(100000, (255, 0, 0))]))
    stop = StopRequest()
    changes = {5: {"background": "#0000ff"}, 10: {"privacy": True}, 13: {"background": "#00ff00"}}
    recorder = _GatedRecorder(lambda: driver.controls, changes, stop, stop_after=22)
    driver = LiveDriver(source, stages, [recorder], config.live, stop)
    page = threading.Thread(target=recorder.page, daemon=True)
    page.start()
    try:
        driver.run()
    finally:
        source.close()
        page.join(timeout=60)
    right = [tuple(image[20, 60]) for image in recorder.fresh]
    assert set(right[:5]) == {(255, 0, 0)} and (0, 0, 255) in right[5:8], right
    assert right[-1] == (0, 0, 255) and (0, 255, 0) not in right  # frozen before green


def test_the_page_has_a_favicon(server) -> None:
    """Browsers ask for /favicon.ico on every page: an icon, not a 404 in the console."""
    status, body, headers = request(server, "/favicon.ico", token=False)
    assert status == 200 and headers["Content-Type"] == "image/x-icon"
    reserved, kind, count = struct.unpack("<HHH", body[:6])
    assert (reserved, kind, count) == (0, 1, 1)
    *_, size, offset = struct.unpack("<BBBBHHII", body[6:22])
    icon = cv2.imdecode(np.frombuffer(body[offset : offset + size], np.uint8), -1)
    assert icon is not None and icon.shape[:2] == (32, 32)


def test_an_any_address_page_prints_addresses_a_browser_can_open(tmp_path: Path, capsys) -> None:
    from types import SimpleNamespace

    from livematte.config import LiveConfig
    from livematte.web.attach import start_control

    controls = LiveControls(parse_backgrounds(["#ff0000"]))
    driver = SimpleNamespace(controls=controls, page_stats=dict)
    live = LiveConfig(control="0.0.0.0:0", control_allow_remote=True)
    server = start_control(
        driver, [], live, camera=True, settings=tmp_path / "s.toml", uploads=tmp_path / "u"
    )
    try:
        printed = [line for line in capsys.readouterr().err.splitlines() if "http://" in line]
        urls = [line[line.index("http://") :] for line in printed]
        assert urls and not any("0.0.0.0" in url for url in urls), printed
        assert urls[0].startswith(f"http://127.0.0.1:{server.port}/?token=")
        for url in urls:  # each one answers (the machine's own addresses too)
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
    finally:
        server.close()


# --- saved settings against the command line, in a real `livematte run` ------------------


class PageRun:
    """``livematte run CLIP --live -o null --control 0 ...`` in a subprocess, its page's URL
    read from what it prints; saved settings under ``home``/config."""

    def __init__(self, clip: Path, home: Path, *flags: str) -> None:
        import os
        import subprocess
        import sys

        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "livematte",
                "run",
                str(clip),
                "--live",
                "-o",
                "null",
                "--control",
                "0",
                *flags,
            ],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stderr is not None
        self.lines: list[str] = []
        for line in self.process.stderr:
            self.lines.append(line)
            if "control page http://" in line:
                self.url = line[line.index("http://") :].strip()
                break
        else:
            raise AssertionError("".join(self.lines))
        parts = urllib.parse.urlsplit(self.url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.token = urllib.parse.parse_qs(parts.query)["token"][0]

    def get(self, path: str) -> bytes:
        req = urllib.request.Request(
            self.base + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        # The timeout only guards against a hang: a loaded machine is slow at everything.
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.read()

    def state(self) -> dict:
        return json.loads(self.get("/api/state"))

    def corner(self) -> np.ndarray:
        """The mean RGB of the snapshot's top-left corner (the background there)."""
        data = np.frombuffer(self.get("/snapshot.jpg"), np.uint8)
        image = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        return image[:12, :12].reshape(-1, 3).mean(axis=0)

    def close(self) -> None:
        import signal

        self.process.send_signal(signal.SIGINT)
        self.process.communicate(timeout=30)


@pytest.fixture(scope="module")
def live_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import write_clip

    return write_clip(
        tmp_path_factory.mktemp("page") / "talk.mp4",
        frames=300,
        audio=None,
        options={"preset": "ultrafast"},
    )


SAVED_BLUE = 'background = "#0000ff"\nmode = "colour"\nblur = 60.0\ncolour = "#0000ff"\n'


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["-b", "#00b140"], {"mode": "image", "colour": "#00b140", "background": "#00b140"}),
        (["-b", "OFFICE"], {"mode": "image", "background": "OFFICE", "blur": 25.0}),
        (["-b", "blur", "--blur", "40"], {"mode": "image", "background": "blur", "blur": 40.0}),
        (["--blur", "40"], {"mode": "colour", "colour": "#0000ff", "blur": 40.0}),
        ([], {"mode": "colour", "colour": "#0000ff", "blur": 60.0}),
        (["--no-saved-settings"], {"mode": "image", "background": "blur", "blur": 25.0}),
    ],
    ids=["colour-flag", "image-flag", "blur-flags", "blur-only", "no-flags", "no-saved"],
)
def test_flags_typed_win_over_saved_page_settings_and_the_page_shows_what_runs(
    live_clip: Path, tmp_path: Path, flags: list[str], expected: dict
) -> None:
    saved = tmp_path / "config" / "livematte" / "live.toml"
    saved.parent.mkdir(parents=True)
    saved.write_text(SAVED_BLUE)
    office = tmp_path / "office.png"
    cv2.imwrite(str(office), np.full((90, 160, 3), (0, 200, 255), np.uint8))  # BGR: orange
    flags = [str(office) if f == "OFFICE" else f for f in flags]
    expected = {k: str(office) if v == "OFFICE" else v for k, v in expected.items()}
    run = PageRun(live_clip, tmp_path, *flags)
    try:
        state = wait_for(lambda: (s := run.state())["stats"]["fps"] > 0 and s, limit=60)
        assert {k: state[k] for k in expected} == expected
        assert state["saved"]["path"] == str(saved)
        assert state["saved"]["enabled"] is ("--no-saved-settings" not in flags)
        corner = run.corner()
        if expected.get("colour") == "#00b140" or expected.get("background") == "#00b140":
            assert corner[1] > 120 and corner[2] < 110, corner  # green, not blue
        if expected.get("mode") == "image":
            assert corner[2] < 100, corner  # no blue anywhere
    finally:
        run.close()
    if "--no-saved-settings" in flags:
        assert saved.read_text() == SAVED_BLUE  # neither read nor rewritten


def test_the_page_says_what_it_restored_and_can_forget_it(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from livematte.config import LiveConfig
    from livematte.web.attach import start_control

    settings = tmp_path / "live.toml"
    settings.write_text(SAVED_BLUE)
    controls = LiveControls(parse_backgrounds(["#ff0000"]))
    driver = SimpleNamespace(controls=controls, page_stats=dict)
    server = start_control(
        driver,
        [],
        LiveConfig(control="0"),
        camera=True,
        settings=settings,
        uploads=tmp_path / "u",
    )
    try:
        state = json.loads(request(server, "/api/state")[1])
        assert sorted(state["saved"]["restored"]) == ["background", "blur", "colour", "mode"]
        assert state["saved"]["path"] == str(settings)
        status, body, _ = request(server, "/api/settings", method="DELETE")
        assert status == 200 and not settings.exists()
        assert json.loads(body)["saved"]["restored"] == []
        assert controls.mode == "colour"  # forgetting changes nothing shown now
        page_html = request(server, "/")[1].decode()
        assert "forget saved settings" in page_html.lower() and "api/settings" in page_html
    finally:
        server.close()
