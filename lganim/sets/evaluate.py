"""The paper's measures of a set: every finished clip of a folder render-set wrote (its `<id>.mp4`; its domain and
prompt from its `<id>.json`), and per prompt (`python -m lganim eval --set DIR`; docs/sets.md).

Per clip (frames uint8 [T, H, W, 3]):

    clip_score        100 · max(cos, 0) of the last frame and the prompt under the domain's loss CLIP (ViT-B/32;
                      the demo's tiny random one)
    clip_direction    cos(I(last) − I(first), T(prompt) − T(neutral)), the directional CLIP similarity: does the clip
                      move from its first frame toward the sentence (NEUTRAL_PROMPT is the neutral sentence)
    identity          the mean cosine similarity of dlib's face descriptor of each later frame with the first's, one
                      face followed through the clip (face/identity.py; frames without a face are left out)
    identity_arcface  the same with ArcFace IR-SE50, where ir_se50.pth is present
    acd_face          the official ACD-face (ArcFace), acd_shape the official ACD-shape (training/metrics.py)
    smoothness        the mean MS-SSIM of consecutive frames (1: nothing changes from one frame to the next)

Per prompt: each of those averaged over its clips that have it, `ms_ssim` between its clips (the mean MS-SSIM of
every pair of their last frames: lower is more diverse) and `clips`. A measure that cannot be taken is null, and
`<measure>_why` beside it says why (no face found on the demo's random faces; a track's clip has no sentence).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import NEUTRAL_PROMPT
from ..device import resolve_device
from ..errors import LganimError
from ..face.identity import followed_descriptors
from ..media.video_reader import read_video
from ..training.metrics import (
    acd_face,
    acd_shape,
    clip_direction,
    clip_similarity,
    face_input,
    identity_to_first,
    ms_ssim_consecutive,
    ms_ssim_pairs,
)
from ..weights.domain_files import domain_files, resolve
from ..weights.encoders import load_arcface, load_clip
from ..weights.registry import get_domain
from .results import records

CLIP_MEASURES = ("clip_score", "clip_direction", "identity", "identity_arcface", "acd_face", "acd_shape",
                 "smoothness")
PROMPT_MEASURES = (*CLIP_MEASURES[:-1], "ms_ssim", "smoothness")
DESCRIPTIONS = {
    "clip_score": "100 · max(cos, 0) of the last frame and the prompt, the domain's loss CLIP",
    "clip_direction": "cos(I(last) − I(first), T(prompt) − T(neutral)), the loss CLIP; neutral: "
                      + NEUTRAL_PROMPT.format(subject="<subject>"),
    "identity": "mean cosine similarity of each later frame's dlib face descriptor with the first's",
    "identity_arcface": "the same with ArcFace IR-SE50 (needs ir_se50.pth)",
    "acd_face": "official ACD-face: Σ_t ||f(x[t+1]) − f(x[t])||², f ArcFace IR-SE50 (needs ir_se50.pth)",
    "acd_shape": "official ACD-shape: mean_t ||mean colour(x[t+1]) − mean colour(x[t])||",
    "ms_ssim": "mean MS-SSIM of every pair of a prompt's clips (their last frames); lower: more diverse",
    "smoothness": "mean MS-SSIM of consecutive frames; 1: no change from frame to frame",
}


@dataclass(frozen=True)
class SetClip:
    """A finished clip of a set, as its record describes it."""

    id: str
    line: int
    domain: str
    prompt: str | None
    track: str | None
    rank: int | None
    video: Path

    @property
    def key(self) -> str:
        """The prompt it is reported under (a track's clip: "track <file>")."""
        return self.prompt if self.prompt is not None else f"track {self.track}"


def set_clips(folder: Path) -> list[SetClip]:
    """The finished clips of a set's folder, in manifest order."""
    found = records(Path(folder))
    if not found:
        raise LganimError(f"{folder} holds no finished clip of a set (render-set writes <id>.json beside each "
                          f"<id>.mp4).")
    clips = []
    for record in found.values():
        row = record.get("row") or {}
        video = Path(folder) / str(record.get("video") or f"{record['id']}.mp4")
        if not video.is_file():
            raise LganimError(f"{video.name}, the clip of {record['id']}.json, is missing: run render-set again (it "
                              f"renders what is not done).")
        get_domain(row.get("domain"))
        clips.append(SetClip(record["id"], int(record.get("line") or 0), row["domain"], row.get("prompt"),
                             row.get("track"), record.get("rank"), video))
    return sorted(clips, key=lambda c: (c.line, c.id))


class SetMeasures:
    """The models the measures need, each loaded once: every domain's loss CLIP, ArcFace where its file is present,
    dlib's face-recognition network (on first use)."""

    def __init__(self, device: str = "auto", arcface: str | Path | None = None):
        self.device = resolve_device(device)
        self.arcface = load_arcface(self.device, path=None if arcface is None else str(arcface))
        self._clips: dict[str, object] = {}

    def loss_clip(self, domain: str):
        """The loss CLIP of a domain (ViT-B/32 for the real domains: one model for all of them)."""
        source = domain_files(get_domain(domain)).clip_loss
        key = str(source)
        if key not in self._clips:
            self._clips[key] = load_clip(resolve(source), device=self.device)
        return self._clips[key]

    @torch.no_grad()
    def measure(self, clip: SetClip, frames: np.ndarray) -> dict:
        """Every measure of one clip (frames uint8 [T, H, W, 3]): a value, or None and `<measure>_why`."""
        values: dict = {}
        why: dict[str, str] = {}
        if clip.prompt is None:
            for name in ("clip_score", "clip_direction"):
                values[name], why[name] = None, "a track drove this clip: it has no sentence"
        else:
            encoder = self.loss_clip(clip.domain)
            values["clip_score"] = 100.0 * max(clip_similarity(frames[-1], clip.prompt, encoder), 0.0)
            neutral = NEUTRAL_PROMPT.format(subject=get_domain(clip.domain).subject)
            values["clip_direction"] = clip_direction(frames[0], frames[-1], clip.prompt, neutral, encoder)
        if len(frames) < 2:
            for name in ("identity", "identity_arcface", "acd_face", "acd_shape", "smoothness"):
                values[name], why[name] = None, "the clip has one frame: nothing to compare"
            return {**values, **{f"{k}_why": v for k, v in why.items()}}
        values["identity"], identity_why = dlib_identity(frames)
        if identity_why:
            why["identity"] = identity_why
        if self.arcface is None:
            for name in ("identity_arcface", "acd_face"):
                values[name], why[name] = None, "ArcFace IR-SE50 (ir_se50.pth) is not on this machine"
        else:
            features = self.arcface(face_input(frames, official=False).to(self.device))      # [T, 512]
            values["identity_arcface"] = identity_to_first(features.cpu())
            values["acd_face"] = acd_face(frames, self.arcface)
        values["acd_shape"] = acd_shape(frames)
        values["smoothness"] = ms_ssim_consecutive(frames)
        return {**values, **{f"{k}_why": v for k, v in why.items()}}


def dlib_identity(frames: np.ndarray) -> tuple[float | None, str | None]:
    """(identity of a clip by dlib's face descriptors of one face followed through it, or None and why)."""
    first, *later = followed_descriptors(frames)
    if first is None:
        return None, "dlib found no face in the first frame"
    later = [d for d in later if d is not None]
    if not later:
        return None, "dlib found no face after the first frame"
    return identity_to_first(np.stack([first, *later])), None


def summarise(results: list[dict], lasts: list[np.ndarray]) -> dict:
    """One prompt's measures from its clips' (`results`) and their last frames (uint8 [H, W, 3] each)."""
    out: dict = {}
    for name in PROMPT_MEASURES:
        if name == "ms_ssim":
            out[name], why = diversity(lasts)
        else:
            values = [r[name] for r in results if r[name] is not None]
            missing = [r[f"{name}_why"] for r in results if r[name] is None]
            out[name] = float(np.mean(values)) if values else None
            why = None if not missing else missing[0] if not values else \
                f"measured on {len(values)} of {len(results)} clips; the others: {missing[0]}"
        if why:
            out[f"{name}_why"] = why
    out["clips"] = len(results)
    return out


def diversity(lasts: list[np.ndarray]) -> tuple[float | None, str | None]:
    """MS-SSIM between a prompt's clips (their last frames; the most common frame size), or None and why."""
    if len(lasts) < 2:
        return None, "one clip: nothing to compare it with"
    sizes = [f.shape for f in lasts]
    common = max(set(sizes), key=sizes.count)
    same = [f for f in lasts if f.shape == common]
    if len(same) < 2:
        return None, "its clips have different frame sizes"
    return ms_ssim_pairs(np.stack(same)), None


def evaluate_set(folder: Path, measures: SetMeasures, progress: Callable[[int, int], None] | None = None) -> dict:
    """{"set", "prompts": {prompt: {measure: value, "<measure>_why": why, "clips": n}}, "clips": [{id, prompt,
    domain, rank, measures...}]}, prompts in manifest order. progress(done, total) after each clip."""
    clips = set_clips(folder)
    by_prompt: dict[str, list[SetClip]] = {}
    for clip in clips:
        by_prompt.setdefault(clip.key, []).append(clip)
    rows, prompts, done = [], {}, 0
    for key, group in by_prompt.items():                      # a prompt at a time: only its last frames are kept
        results, lasts = [], []
        for clip in group:
            frames = read_video(clip.video).frames                # uint8 [T, H, W, 3]
            result = measures.measure(clip, frames)
            results.append(result)
            lasts.append(frames[-1])
            rows.append({"id": clip.id, "prompt": key, "domain": clip.domain, "rank": clip.rank,
                         "frames": int(frames.shape[0]), **result})
            done += 1
            if progress is not None:
                progress(done, len(clips))
        prompts[key] = summarise(results, lasts)
    return {"set": str(folder), "prompts": prompts, "clips": rows}


def compare(a: dict, b: dict) -> dict:
    """Set A's evaluation with set B's beside it (`compare`) and, for each prompt of both, B − A of each measure
    that both have (`compare.delta`)."""
    delta = {}
    for prompt, ours in a["prompts"].items():
        theirs = b["prompts"].get(prompt)
        if theirs is not None:
            delta[prompt] = {k: theirs[k] - ours[k] for k in PROMPT_MEASURES
                             if ours.get(k) is not None and theirs.get(k) is not None}
    return {**a, "compare": {**b, "delta": delta}}


__all__ = ["CLIP_MEASURES", "PROMPT_MEASURES", "DESCRIPTIONS", "SetClip", "set_clips", "SetMeasures",
           "dlib_identity", "summarise", "diversity", "evaluate_set", "compare"]
