#!/usr/bin/env bash
# Installs livematte the way a user does and runs what a user runs first, so that a run-time
# dependency missing from pyproject.toml fails here rather than on a user's machine (a dev
# venv hides it whenever a dev tool happens to bring the package along).
#
# The wheel is built with `python -m build` (sdist first, then the wheel from the sdist, so
# a file missing from either fails too), installed with the [cpu] extra alone into a fresh
# venv, and that venv's `livematte` then runs: the demo, a picture, a clip with audio and
# doctor. Every input is made here from the installed package (a user's clone has no
# ../shared/data). Nothing is written into the checkout but the build's own egg-info.
#
# Usage: tools/install_check.sh [PYTHON]
#   PYTHON  the interpreter that builds the wheel and makes the venv (default python3); it
#           needs the `build` package (the dev extra has it).
# Environment: INSTALL_CHECK_KEEP=1 keeps the work folder (its path is printed).
set -euo pipefail

python=${1:-python3}
project=$(cd "$(dirname "$0")/.." && pwd -P)
say() { echo "install_check: $*"; }
die() {
    echo "install_check: FAILED: $*" >&2
    exit 1
}

"$python" -c 'import build' 2>/dev/null ||
    die "$python has no 'build' package; install it (pip install build, or the dev extra)"

work=$(mktemp -d "${TMPDIR:-/tmp}/livematte-install-check.XXXXXX")
if [ "${INSTALL_CHECK_KEEP:-}" = 1 ]; then
    say "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi
# The runs below write their settings and caches here, never into the real home.
export XDG_CONFIG_HOME=$work/xdg/config XDG_DATA_HOME=$work/xdg/data XDG_CACHE_HOME=$work/xdg/cache
export PYTHONDONTWRITEBYTECODE=1

say "building the sdist and the wheel with $("$python" --version)"
"$python" -m build --outdir "$work/dist" "$project" >"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log" >&2; die "python -m build failed (log above)"; }
wheels=("$work"/dist/livematte-*.whl)
[ -f "${wheels[0]}" ] || die "python -m build made no wheel"

say "installing ${wheels[0]##*/}[cpu] into a fresh venv (no dev extras)"
"$python" -m venv "$work/venv"
venv=$work/venv/bin
"$venv/python" -m pip install --quiet "${wheels[0]}[cpu]" >"$work/pip.log" 2>&1 ||
    { tail -n 30 "$work/pip.log" >&2; die "pip install of the wheel with [cpu] failed"; }
mkdir "$work/run"
cd "$work/run"

# Each step runs the installed command, from a folder outside the checkout.
step() {
    local name=$1
    shift
    say "$name: livematte $*"
    if ! "$venv/livematte" "$@" >"$work/$name.log" 2>&1; then
        cat "$work/$name.log" >&2
        die "livematte $* failed (exit status above)"
    fi
    if grep -q Traceback "$work/$name.log"; then
        cat "$work/$name.log" >&2
        die "livematte $* printed a traceback"
    fi
}

step demo demo
[ -s livematte-demo.mp4 ] && [ -s livematte-demo.png ] || die "livematte demo wrote no files"

# A photo of a person (the package's own demo portrait, as a user's JPEG) and a short clip
# of it with a tone on an audio track, both written with the installed OpenCV and PyAV.
"$venv/python" - <<'EOF'
from importlib.resources import files
from pathlib import Path

import av
import cv2
import numpy as np

photo = Path(str(files("livematte") / "assets" / "astronaut.jpg")).read_bytes()
Path("photo.jpg").write_bytes(photo)
bgr = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
rgb = cv2.cvtColor(cv2.resize(bgr, (320, 320)), cv2.COLOR_BGR2RGB)[40:280]
rate, fps, frames = 48000, 25, 25
with av.open("talk.mp4", "w") as container:
    video = container.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
    audio = container.add_stream("aac", rate=rate)
    for i in range(frames):
        moved = np.roll(rgb, i, axis=1)
        for packet in video.encode(av.VideoFrame.from_ndarray(moved, format="rgb24")):
            container.mux(packet)
    samples = 1024
    tone = np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype(np.float32)
    for start in range(0, rate, samples):
        chunk = tone[start : start + samples]
        chunk = np.pad(chunk, (0, samples - chunk.size))[None, :]
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for packet in audio.encode(frame):
            container.mux(packet)
    for stream in (video, audio):
        for packet in stream.encode(None):
            container.mux(packet)
EOF

step picture run photo.jpg -o cutout.png -b transparent
step clip run talk.mp4 -o talk-out.mp4 -b '#00b140'
"$venv/python" - <<'EOF' || die "the outputs are not what the runs said they wrote"
import av
import cv2

cutout = cv2.imread("cutout.png", cv2.IMREAD_UNCHANGED)
assert cutout is not None and cutout.shape == (512, 512, 4), "cutout.png: no RGBA picture"
alpha = cutout[..., 3]
assert alpha.min() < 10 and alpha.max() > 245, "cutout.png: the matte keeps or drops everything"
with av.open("talk-out.mp4") as container:
    kinds = sorted(stream.type for stream in container.streams)
    assert kinds == ["audio", "video"], f"talk-out.mp4 has streams {kinds}"
    frames = sum(1 for _ in container.decode(video=0))
    assert frames == 25, f"talk-out.mp4 has {frames} frames, not 25"
EOF

# doctor exits 1 on a machine without a virtual camera or a webcam (a CI runner): its
# verdict on the package itself is what is checked here.
say "doctor: livematte doctor"
status=0
"$venv/livematte" doctor >"$work/doctor.log" 2>&1 || status=$?
if [ "$status" -gt 1 ] || grep -q Traceback "$work/doctor.log"; then
    cat "$work/doctor.log" >&2
    die "livematte doctor crashed (exit status $status)"
fi
for check in onnxruntime "onnxruntime session" "default model" "codec libx264"; do
    grep -qE "^  ok +$check:" "$work/doctor.log" ||
        { cat "$work/doctor.log" >&2; die "doctor's '$check' check did not pass"; }
done
say "passed: the wheel with [cpu] runs the demo, a picture, a clip with audio and doctor"
