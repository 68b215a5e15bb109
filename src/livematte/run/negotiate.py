"""The one decision between RGB and 4:2:0 frames for a run, made once, before the first frame.

A re-encode can stay in the decoded 4:2:0 (see :mod:`livematte.planar`) only when the source
can give planes, the stages can work on them (a model fed a shrunk copy, a background the
planar blend makes) and every sink takes them. The sinks are asked, which changes nothing;
the format chosen is then given to all of them, and the source is told to deliver it.
"""

from __future__ import annotations

from ..config import Config
from ..errors import UserError
from ..io.open import colour_of
from ..io.sinks import PixelFormat, Sink
from ..io.sources import Source, VideoFileSource
from ..stages import Stages

MATTE_FORMAT = PixelFormat("grey")


def negotiate(
    source: Source, stages: Stages, pictures: list[Sink], mattes: list[Sink], config: Config
) -> PixelFormat:
    """Choose the pictures' format, tell every sink (the mattes' is always grey) and the
    source; 4:2:0 where everything allows it, else packed RGB (RGBA when transparent)."""
    colour = colour_of(source)
    packed = PixelFormat("rgba" if stages.transparent else "rgb", colour)
    candidates = [packed]
    if (
        config.output.planar
        and isinstance(source, VideoFileSource)
        and source.can_be_planar
        and stages.can_stay_planar(source.width, source.height)
    ):
        candidates.insert(0, PixelFormat("i420", colour))
    chosen = next((f for f in candidates if all(s.accepts(f) for s in pictures)), None)
    if chosen is None:
        refusing = next(s for s in pictures if not s.accepts(packed))
        raise UserError(
            f"{refusing.description} cannot take {packed.layout.upper()} pictures; choose "
            "another output or background."
        )
    for sink in mattes:
        if not sink.accepts(MATTE_FORMAT):
            raise UserError(f"{sink.description} cannot hold a matte; write a folder or a video.")
        sink.use(MATTE_FORMAT)
    for sink in pictures:
        sink.use(chosen)
    if isinstance(source, VideoFileSource):
        source.planar = chosen.layout == "i420"
    return chosen
