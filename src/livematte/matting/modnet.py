"""MODNet, the portrait matting network shipped inside the package (``--model modnet``).

MODNet gives a true alpha matte (hair strands, soft edges), where the selfie and pose
models give a 256-px person/background guess. The file is
``src/livematte/models/modnet.onnx`` (origin, licence and hash in ``models/MODELS.md``); it
runs through the ordinary ONNX path (:mod:`.onnx_matter`) on whatever device the run chose.

Its input size follows MODNet's own demo: the short side scaled to 512 when the frame is
larger than that on both sides (or smaller on both), then each side rounded *down* to a
multiple of 32. The matte comes back at that size and the refiner brings it to full size.
"""

from __future__ import annotations

from ..config import ModelConfig
from .builtin import model_path
from .onnx_matter import OnnxMatter, load_onnx_matter

MODNET_FILE = "modnet.onnx"
# MODNet was trained with the short side at 512 (its demo's ``ref_size``).
REF_SIZE = 512
MULTIPLE = 32


def demo_size(width: int, height: int, ref: int = REF_SIZE) -> tuple[int, int]:
    """MODNet's own input size for a frame: (width, height), multiples of 32."""
    if max(width, height) < ref or min(width, height) > ref:
        if width >= height:
            width, height = int(width / height * ref), ref
        else:
            width, height = ref, int(height / width * ref)
    return max(MULTIPLE, width - width % MULTIPLE), max(MULTIPLE, height - height % MULTIPLE)


class ModnetMatter(OnnxMatter):
    """MODNet on every frame, at its demo size (the caller shrinks the frame once)."""

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        return demo_size(width, height)

    def tensor_size(self, height: int, width: int) -> tuple[int, int]:
        """The input's own size (already shrunk by the caller), rounded down to multiples
        of 32 where it is not."""
        return height - height % MULTIPLE or MULTIPLE, width - width % MULTIPLE or MULTIPLE


def load_modnet(config: ModelConfig) -> ModnetMatter:
    """The packaged MODNet on ``config.device`` with ``config.threads``."""
    matter = load_onnx_matter(
        str(model_path(MODNET_FILE)),
        model_type="modnet",
        device=config.device,
        threads=config.threads or None,
        precision=config.precision,
        matter_class=ModnetMatter,
        name="modnet",
    )
    assert isinstance(matter, ModnetMatter)
    return matter
