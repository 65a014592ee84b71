"""Motion tracks drive the face: a track's channels become W+ offsets through the domain's control directions, its
roll, shift and scale move the face in the frame. Driving videos (retargeting), audio and speech (talking faces)
and idle motion (under predicted futures) all end here as a `TrackMotion`, one motion source among the others.

Everything is relative to the track's first sample: the face starts as it is, and moves as the driving face moved
from its first frame.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import checks
from ..config import MAX_STRENGTH, REGIONS, LossProgress
from ..errors import LganimError
from ..face.composite import crop_transform
from ..media.audio import Audio
from ..request import Request
from ..tracks.track import Track
from .directions import ControlDirections
from .source import Motion

POSE_CHANNELS = ("yaw", "pitch", "roll", "tx", "ty", "scale")   # head motion: scaled by the pose scale
CROP_CHANNELS = ("roll", "tx", "ty", "scale")                    # move the face in the frame, not W+


def region_values(channels: dict[str, np.ndarray], region: str, pose_scale: float = 1.0,
                  expression_scale: float = 1.0) -> dict[str, np.ndarray]:
    """The channels that drive a face in `region` (config.REGIONS; "all" and "pose" also move its crop: roll, tx,
    ty, scale), scaled: the head motion by `pose_scale`, the expression by `expression_scale`. Values float64 [T]."""
    used = set(REGIONS[region]) | (set(CROP_CHANNELS) if region in ("all", "pose") else set())
    return {name: (pose_scale if name in POSE_CHANNELS else expression_scale) * np.asarray(v, np.float64)
            for name, v in channels.items() if name in used}


def crop_moves(channels: dict[str, np.ndarray], num_frames: int) -> np.ndarray | None:
    """The crop transforms [T, 3, 3] of driven channels (face/composite.crop_transform of roll, tx, ty, scale; a
    channel left out stays 0), or None when none of them is there."""
    if not any(name in channels for name in CROP_CHANNELS):
        return None
    values = [np.asarray(channels.get(c, np.zeros(num_frames)), np.float64) for c in CROP_CHANNELS]
    return np.stack([crop_transform(*(float(v[k]) for v in values)) for k in range(num_frames)])


class TrackMotion:
    """Motion from a motion track (see the module docstring).

    times: the output frames' times in seconds from the track's start (default: k / the request's fps), e.g. the
    driving video's own frame times. region: which channels drive the face (config.REGIONS: all, pose,
    expression, lips, eyes). pose_scale / expression_scale: multipliers of the head motion / of the face's
    expression channels. audio: the sound to carry into the video.
    """

    needs_first_frames = False
    needs_prompts = False

    def __init__(self, track: Track, directions: ControlDirections, *, times: np.ndarray | None = None,
                 region: str = "all", pose_scale: float = 1.0, expression_scale: float = 1.0,
                 audio: Audio | None = None):
        self.region = checks.choice("region", region, tuple(REGIONS))
        self.pose_scale = checks.number("pose scale", pose_scale, -MAX_STRENGTH, MAX_STRENGTH)
        self.expression_scale = checks.number("expression scale", expression_scale, -MAX_STRENGTH, MAX_STRENGTH)
        self.track = track.interpolate_invalid()
        self.directions, self.times, self.audio = directions, times, audio

    def values(self, num_frames: int, fps: float) -> Track:
        """The track at the output frames' times, relative to its first sample, scaled; channels outside the
        region are left out."""
        times = np.arange(num_frames) / fps if self.times is None else np.asarray(self.times, np.float64)
        if len(times) != num_frames:
            raise LganimError(f"The driving track gives {len(times)} frame times for {num_frames} frames.")
        t = self.track.t - self.track.t[0]
        channels = region_values({name: np.interp(times, t, v) - v[0] for name, v in self.track.channels.items()},
                                 self.region, self.pose_scale, self.expression_scale)
        meta = dict(self.track.meta, region=self.region, pose_scale=self.pose_scale,
                    expression_scale=self.expression_scale)
        return Track(fps=fps, t=times, channels=channels, valid=np.ones(num_frames, dtype=bool), meta=meta)

    def motion(self, request: Request, w0: torch.Tensor, first_frames: torch.Tensor | None, *,
               generator: torch.Generator | None = None, progress: LossProgress | None = None) -> Motion:
        track = self.values(request.num_frames, request.fps)
        driven = {name: v for name, v in track.channels.items() if name in self.directions.directions}
        dw = self.directions.offsets(driven) if driven else torch.zeros(request.num_frames, *w0.shape[1:])  # [T, L, D]
        moves = crop_moves(track.channels, request.num_frames)                                     # [T, 3, 3]
        offsets = dw.to(w0)[None].expand(request.batch, -1, -1, -1).contiguous()                    # [B, T, L, D]
        return Motion(offsets, moves, self.audio, track)


__all__ = ["TrackMotion", "region_values", "crop_moves", "POSE_CHANNELS", "CROP_CHANNELS"]
