"""Fuzzing the two front ends users feed files to: the decoder and the config loader.

Whatever the bytes, the result is a clean run or a UserError (one sentence for the CLI),
never another exception and never a hang. Bounded: the whole file runs in seconds;
set LIVEMATTE_FUZZ_EXAMPLES to fuzz longer (e.g. 5000) on a spare machine.
"""

from __future__ import annotations

import datetime
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import write_clip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livematte.config import Config, apply_mapping, load_config, validate
from livematte.errors import UserError
from livematte.io.open import open_source

pytestmark = pytest.mark.slow  # a real browser, Ray cluster or fuzzing: the full lane only

FRAMES_TO_READ = 5
HANG_SECONDS = 10.0
FUZZ = settings(
    max_examples=int(os.environ.get("LIVEMATTE_FUZZ_EXAMPLES", "300")),
    deadline=None,  # hangs are caught by our own timeout, slow machines are not failures
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def outcome_of(call: Any) -> BaseException | None:
    """Run ``call`` on a thread; return what it raised (None if nothing), or fail on a hang."""
    box: dict[str, BaseException | None] = {"error": None}

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - judged by the caller
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(HANG_SECONDS)
    assert not worker.is_alive(), f"still running after {HANG_SECONDS} s"
    return box["error"]


def decode_a_few(path: Path) -> None:
    source = open_source(str(path))
    try:
        for count, frame in enumerate(source, 1):
            assert frame.rgb.shape == (source.height, source.width, 3)
            if count >= FRAMES_TO_READ:
                break
    finally:
        source.close()


def assert_clean(error: BaseException | None) -> None:
    if error is not None and not isinstance(error, UserError):
        raise AssertionError(f"{type(error).__name__}: {error}") from error
    if isinstance(error, UserError):
        assert "\n" not in str(error) and str(error).strip()


@pytest.fixture(scope="module")
def valid_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small valid files to mutate: MP4 (with audio) and MKV."""
    folder = tmp_path_factory.mktemp("seeds")
    return {
        ".mp4": write_clip(folder / "seed.mp4", frames=8, width=64, height=48),
        ".mkv": write_clip(folder / "seed.mkv", frames=8, width=64, height=48, audio=None),
    }


EXTENSIONS = [".mp4", ".mkv", ".mov", ".avi", ".webm", ".png", ".jpg"]


@FUZZ
@given(data=st.binary(min_size=1, max_size=4096), ext=st.sampled_from(EXTENSIONS))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes, ext: str) -> None:
    path = tmp_path / f"fuzz{ext}"
    path.write_bytes(data)
    assert_clean(outcome_of(lambda: decode_a_few(path)))


@FUZZ
@given(
    ext=st.sampled_from([".mp4", ".mkv"]),
    edits=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)),
        min_size=1,
        max_size=24,
    ),
    header_only=st.booleans(),
    keep=st.floats(0.05, 1.0),
)
def test_mutated_videos_never_crash(
    tmp_path: Path,
    valid_clips: dict[str, Path],
    ext: str,
    edits: list[tuple[float, int]],
    header_only: bool,
    keep: float,
) -> None:
    """Byte edits, mostly in the container headers where parsers are most fragile."""
    data = bytearray(valid_clips[ext].read_bytes())
    span = min(len(data), 600) if header_only else len(data)
    for where, value in edits:
        data[int(where * span)] = value
    path = tmp_path / f"mutant{ext}"
    path.write_bytes(bytes(data[: max(1, int(len(data) * keep))]))
    assert_clean(outcome_of(lambda: decode_a_few(path)))


# ---- the config loader ------------------------------------------------------------------

SECTIONS = [f.name for f in Config.__dataclass_fields__.values()]
KEYS = sorted(
    {
        name
        for section in Config().__dict__.values()
        if hasattr(section, "__dataclass_fields__")
        for name in section.__dataclass_fields__
    }
)
toml_scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.dates(),
    st.datetimes(),
    st.times(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
config_mappings = st.dictionaries(
    st.sampled_from(SECTIONS) | st.text(max_size=8),
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), toml_values, max_size=4)
    | toml_values,
    max_size=4,
)


@FUZZ
@given(mapping=config_mappings)
def test_random_config_tables_never_crash(mapping: dict[str, Any]) -> None:
    config = Config()
    try:
        apply_mapping(config, mapping, source="fuzz.toml")
        validate(config)
    except UserError as error:
        assert_clean(error)


def _toml_line(key: str, value: Any) -> str:
    if isinstance(value, str):
        return f"{key} = {value!r}".replace("'", '"')
    if isinstance(value, bool):
        return f"{key} = {str(value).lower()}"
    if isinstance(value, (datetime.date, datetime.time)):
        return f"{key} = {value.isoformat()}"
    return f"{key} = {value}"


toml_texts = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.lists(
        st.one_of(
            st.sampled_from(SECTIONS).map(lambda s: f"[{s}]"),
            st.tuples(st.sampled_from(KEYS) | st.text(max_size=6), toml_scalars).map(
                lambda kv: _toml_line(*kv)
            ),
            st.text(max_size=30),
        ),
        max_size=12,
    ).map("\n".join),
)


@FUZZ
@given(text=toml_texts)
def test_random_config_files_never_crash(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))

    def load() -> None:
        config = load_config(path)
        assert isinstance(config, Config)
        validate(config)

    assert_clean(outcome_of(load))
