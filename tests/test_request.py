"""A run checks what it was asked once, where it is opened, in the caller's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_clip

from livematte import config as config_module
from livematte.cli import main
from livematte.config import Config
from livematte.errors import UserError
from livematte.run import request as request_module
from livematte.run.offline import process_video


def test_the_api_and_the_command_line_get_one_refusal_each_in_their_own_words(
    tmp_path: Path, capsys
) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=2, audio=None)
    matte = tmp_path / "in.mp4"
    with pytest.raises(UserError, match=r"^The alpha_out .*in\.mp4 is the input itself"):
        process_video(clip, tmp_path / "out.mp4", alpha_out=matte)
    assert main(["run", str(clip), "-o", str(tmp_path / "o.mp4"), "--alpha-out", str(matte)]) == 2
    err = capsys.readouterr().err
    assert "livematte: --alpha-out " in err and "is the input itself" in err
    assert not (tmp_path / "o.mp4").exists()


def test_a_command_line_run_validates_its_settings_once(tmp_path: Path, monkeypatch) -> None:
    calls: list[Config] = []
    real = config_module.validate

    def counting(config: Config, *args, **kwargs) -> None:
        calls.append(config)
        real(config, *args, **kwargs)

    monkeypatch.setattr(config_module, "validate", counting)
    monkeypatch.setattr(request_module, "validate", counting)
    clip = write_clip(tmp_path / "in.mp4", frames=2, audio=None)
    assert main(["run", str(clip), "-o", "null", "-q"]) == 0
    assert len(calls) == 1


def test_a_typed_flag_the_file_run_cannot_use_is_refused_by_the_file_run(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=2, audio=None)
    asked = request_module.command_line({"vcam_device": "--vcam-device"}, None)
    config = Config()
    config.live.vcam_device = "/dev/video9"
    with pytest.raises(UserError, match="^--vcam-device picks the virtual camera"):
        process_video(clip, "null", config=config, request=asked)
    # The same setting from a config file or the API waits for a run that uses it.
    assert process_video(clip, "null", config=config).frames == 2
