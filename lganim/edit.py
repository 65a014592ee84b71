"""Editing a still face: head pose, expression and any sentence as sliders, one rendered frame per change.

    anim = Animator.from_pretrained("demo")
    edit = anim.edit(seed=1, controls={"yaw": 10.0, "smile": 0.05}, prompts={"The person is surprised.": 0.5})
    edit.image                                              # uint8 [H, W, 3]
    clip = anim("The person is smiling.", start=edit)       # a clip that starts from the edited face

The edited code is w = w0 + Σ_c value_c · direction_c + Σ_p amount_p · A_p, where
- w0 [1, L, D] is the face's start code: a seed's, or a photo's (aligned, inverted and pasted back as for a clip);
- direction_c [L, D] is the domain's control direction of channel c, the W+ offset of one track unit of it
  (motion/directions.py, found by motion/calibration.py);
- A_p [L, D] is prompt p's fitted direction of its full expression (motion/fitted.py: fitted once, cached as the
  fitted motion source caches it; a sequence "A; then B" ends at the sum of its segments' directions).
roll, tx, ty and scale move the crop instead (face/composite.crop_transform): in the photo it is pasted back into,
or within its own frame.

Ranges, in the channels' track units (lganim.config.CHANNELS): a driven channel's is what the domain's
calibration observed its direction do (`observed_ranges`; the demo's fallback directions: ±the channel's typical
full movement); the crop channels' are config.EDIT_CROP_RANGES. An unknown channel or a value outside its range is
a one-line error naming the range, before any work.

An `Editor` keeps the domain's control directions, the start codes of the last EDIT_CACHED_FACES faces and every
prompt direction, so that moving a slider only renders one frame (and pastes it back into a photo).
"""
from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .config import (
    CHANNELS,
    DRIVEN_CHANNELS,
    EDIT_CACHED_FACES,
    EDIT_CROP_RANGES,
    EDIT_HASHED_PHOTO_BYTES,
    LossProgress,
)
from .errors import LganimError
from .face.composite import crop_transform, place_crops
from .files import atomic_path
from .models.renderer import Renderer
from .models.stylegan2 import Generator, to_uint8
from .motion.calibration import observed_ranges, typical_range
from .motion.directions import ControlDirections, cached_for
from .motion.driven import CROP_CHANNELS
from .motion.fitted import PromptFitter, build_fitter
from .motion.sequences import split_prompt
from .request import EditRequest
from .startcodes import PhotoEncoder, PhotoFace, seed_codes
from .weights.domain_files import DomainFiles, domain_files
from .weights.registry import Domain

RANGE_DIGITS = 3                    # significant digits a range is shown with (and rounded to, towards 0)


@dataclass(frozen=True)
class ControlRange:
    """What one slider may ask: a channel's unit and range (lo ≤ 0 ≤ hi), and where the range comes from: the
    calibration method of a driven channel (motion/directions.METHODS; "typical" when the domain has no calibration
    yet), or "crop" for the channels that move the crop."""

    channel: str
    unit: str
    lo: float
    hi: float
    source: str

    def check(self, value: float, domain: str) -> float:
        """`value` if it lies in the range (within float noise of its ends, e.g. a slider's last step), else a
        one-line LganimError naming the range."""
        slack = 1e-9 * max(1.0, self.hi - self.lo)
        if not self.lo - slack <= value <= self.hi + slack:
            why = ("the range a crop move keeps the face in its frame" if self.source == "crop" else
                   "the range its calibration observed" if self.source == "measured" else
                   "the channel's typical full movement")
            raise LganimError(f"{self.channel} must be from {self.lo:g} to {self.hi:g} ({self.unit}) on the {domain} "
                              f"domain ({why}), got {value:g}.")
        return min(max(value, self.lo), self.hi)


def _towards_zero(x: float) -> float:
    """x rounded towards 0 to RANGE_DIGITS significant digits: a range end as shown is one that is allowed."""
    if x == 0 or not math.isfinite(x):
        return 0.0
    q = 10.0 ** (RANGE_DIGITS - 1 - math.floor(math.log10(abs(x))))
    return math.trunc(x * q) / q


def control_ranges(directions: ControlDirections | None, unmeasured: str = "typical") -> dict[str, ControlRange]:
    """Every channel's range in CHANNELS order, from the domain's control directions (None: not calibrated yet; the
    driven channels then get `typical_range`, what the fallback rule gives, marked `unmeasured`)."""
    driven = observed_ranges(directions) if directions is not None else None
    out = {}
    for c, unit in CHANNELS.items():
        if c in CROP_CHANNELS:
            lo, hi, source = -EDIT_CROP_RANGES[c], EDIT_CROP_RANGES[c], "crop"
        elif driven is not None:
            (lo, hi), source = driven[c], directions.method[c]
        else:
            (lo, hi), source = typical_range(c), unmeasured
        out[c] = ControlRange(c, unit, _towards_zero(lo), _towards_zero(hi), source)
    return out


def cached_ranges(domain: Domain) -> dict[str, ControlRange]:
    """`control_ranges` from the domain's cached control directions, read without loading its StyleGAN2 (for a page
    whose sliders must show a domain's ranges before its models load). An untrained domain's directions are the
    fallback rule's, whose ranges need nothing read."""
    if domain.untrained:
        return control_ranges(None, unmeasured="sefa-fallback")
    return control_ranges(cached_for(domain, domain_files(domain)))


@dataclass
class Start:
    """A face before editing: its start code and where it came from."""

    w0: torch.Tensor                # [1, L, D] on the StyleGAN2's device and dtype
    seed: int | None                # None: a photo
    truncation: float               # ψ a seeded code was drawn with
    photo: PhotoFace | None         # the aligned face and the photo it is pasted back into


@dataclass
class Edit:
    """An edited still face, and what a clip that starts from it needs (`anim(prompt, start=edit)`,
    `DriveRequest(..., start=edit)`)."""

    image: np.ndarray               # uint8 [H, W, 3]: the edited face (pasted back into the photo, moved by the crop)
    w: torch.Tensor                 # [1, L, D] its W+ code (CPU, the StyleGAN2's dtype)
    w0: torch.Tensor                # [1, L, D] the start code before the edit (CPU)
    domain: str
    seed: int | None                # the face's seed; None: a photo
    truncation: float
    photo: PhotoFace | None         # the aligned face and its canvas (None: a seed's face)
    move: np.ndarray | None         # [3, 3] crop transform of roll, tx, ty, scale; None: the crop stays put
    controls: dict[str, float]      # every channel's value (0 where left out)
    prompts: dict[str, float]       # sentence -> amount

    def save(self, path: str | Path) -> Path:
        """Write the image (PNG, or JPEG/WebP by suffix) atomically; returns the path."""
        path = Path(path)
        try:
            with atomic_path(path) as tmp:
                Image.fromarray(self.image).save(tmp)
        except OSError as e:
            raise LganimError(f"Could not write {path}: {e.strerror or e}.") from None
        return path


def photo_key(image) -> tuple | None:
    """What identifies a photo between edits (None: it cannot be told apart cheaply, so it is not cached): a file by
    the digest of its bytes (an upload may come back under another path; a file larger than
    EDIT_HASHED_PHOTO_BYTES by its path, size and time), bytes and arrays by their digest."""
    if isinstance(image, (str, Path)):
        try:
            st = Path(image).stat()
            if st.st_size > EDIT_HASHED_PHOTO_BYTES:
                return ("file", str(Path(image).resolve()), st.st_size, st.st_mtime_ns)
            return ("bytes", hashlib.sha256(Path(image).read_bytes()).hexdigest())
        except OSError:
            return None                                              # reading it will say what is wrong
    if isinstance(image, (bytes, bytearray)):
        return ("bytes", hashlib.sha256(image).hexdigest())
    if isinstance(image, np.ndarray):
        data = np.ascontiguousarray(image)
        return ("array", data.shape, str(data.dtype), hashlib.sha256(data.tobytes()).hexdigest())
    return None


class Editor:
    """Edits faces of one domain's StyleGAN2 (module doc): its control directions, the start codes of the last
    `faces` faces and its prompt directions are kept, so a repeated edit of a face only renders.

    directions: what gives the domain's control directions when a slider first needs them (the Animator's
    `load_directions`: loaded once, for every request of the domain). fitter: the prompt fitter (default: one built
    on first use with the fitted motion source's settings, so a prompt fitted for a clip serves an edit and the other
    way round).
    """

    def __init__(self, domain: Domain, stylegan: Generator, renderer: Renderer, photos: PhotoEncoder,
                 files: DomainFiles | None = None, *, directions: Callable[[], ControlDirections],
                 fitter: PromptFitter | None = None, faces: int = EDIT_CACHED_FACES):
        self.domain, self.stylegan, self.renderer, self.photos = domain, stylegan, renderer, photos
        self.files = files
        self.directions, self._fitter, self.faces = directions, fitter, faces
        self._starts: OrderedDict[tuple, Start] = OrderedDict()
        self._lock = threading.Lock()

    # -- what a slider may ask ----------------------------------------------------------------------------------
    def ranges(self) -> dict[str, ControlRange]:
        """Every channel's range (CHANNELS order), from the domain's control directions."""
        return control_ranges(self.directions())

    def check(self, request: EditRequest) -> dict[str, float]:
        """Every channel's value (0 where left out), each checked against its range (the names are the request's
        check): the crop channels, then the driven ones (their ranges need the control directions, loaded only when
        one is asked)."""
        values = {c: request.controls.get(c, 0.0) for c in CHANNELS}
        ranges = control_ranges(None)
        if any(values[c] for c in DRIVEN_CHANNELS):
            ranges = self.ranges()
        return {c: ranges[c].check(v, self.domain.name) if v else 0.0 for c, v in values.items()}

    # -- the work -----------------------------------------------------------------------------------------------
    def start(self, request: EditRequest, progress: LossProgress | None = None) -> Start:
        """The face's start code: kept from an earlier edit of the same face, else computed (and kept)."""
        if request.image is not None:
            key = photo_key(request.image)
            key = key and (*key, request.face_index, request.paste_back, request.refine_steps)
        else:
            psi = self.domain.truncation if request.truncation is None else request.truncation
            key = ("seed", request.seed, psi)
        with self._lock:
            if key is not None and key in self._starts:
                self._starts.move_to_end(key)
                return self._starts[key]
        if request.image is not None:
            photo = self.photos.read(request.image, request.face_index, request.paste_back)
            with torch.inference_mode():
                start = Start(self.photos.invert(photo, request.refine_steps, progress), None,
                              self.domain.truncation, photo)
        else:
            start = Start(seed_codes(self.stylegan, [request.seed], psi), request.seed, psi, None)
        if key is not None:
            with self._lock:
                self._starts[key] = start
                while len(self._starts) > self.faces:
                    self._starts.popitem(last=False)
        return start

    def fitter(self) -> PromptFitter:
        if self._fitter is None:
            self._fitter = build_fitter(self.domain, self.files or domain_files(self.domain), self.stylegan)
        return self._fitter

    def direction(self, prompt: str, progress: LossProgress | None = None) -> torch.Tensor:
        """A_p [L, D] float32 (CPU): the W+ offset of the prompt's full expression (a sequence: the sum of its
        segments', where its clip ends)."""
        return sum(self.fitter().fit(seg, progress).direction.float() for seg in split_prompt(prompt))

    def edit(self, request: EditRequest, progress: LossProgress | None = None) -> Edit:
        """The edited face: values checked, then the start code (kept), the prompt directions (fitted once), one
        frame rendered. progress(step, steps, loss): a photo's refinement or a new prompt's fit."""
        values = self.check(request)
        start = self.start(request, progress)
        w = start.w0                                                              # [1, L, D]
        driven = {c: np.array([values[c]]) for c in DRIVEN_CHANNELS if values[c]}
        if driven:
            w = w + self.directions().offsets(driven).to(w)                         # + Σ value · direction
        for prompt, amount in request.prompts.items():
            if amount:
                w = w + amount * self.direction(prompt, progress).to(w)           # + amount · A_p
        crop = [values[c] for c in CROP_CHANNELS]
        move = crop_transform(*crop) if any(crop) else None                       # [3, 3]
        with torch.inference_mode():
            face = to_uint8(self.renderer(w)).numpy()                             # [1, H, W, 3]
        canvas, aligned = (None, None) if start.photo is None else (start.photo.canvas, start.photo.aligned)
        image = place_crops(face, canvas, aligned, None if move is None else move[None])[0]
        return Edit(image, w.cpu(), start.w0.cpu(), self.domain.name, start.seed, start.truncation, start.photo,
                    move, values, dict(request.prompts))


__all__ = ["RANGE_DIGITS", "ControlRange", "control_ranges", "cached_ranges", "Start", "Edit",
           "photo_key", "Editor"]
