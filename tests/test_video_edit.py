"""Editing a video (lganim/video_edit.py), in a closed world: frames the demo StyleGAN2 renders from known codes,
composed into a canvas along known crop squares, so that the edit a method should make is known. The time profile
of an edit, the smoothing, the residual (exact with the true codes; nothing outside the crop squares changes; a
lost face and a zero edit pass through untouched), streaming in bounded chunks, and the preview."""
import numpy as np
import pytest
import torch

from lganim.config import MAX_VIDEO_SIDE, VIDEO_EDIT_RAMP
from lganim.errors import LganimError
from lganim.face.composite import blend_into
from lganim.media.audio import has_audio
from lganim.media.writers import write_mp4_stream
from lganim.models.stylegan2 import to_uint8
from lganim.pipeline import AnimationResult, Animator
from lganim.request import VideoEditRequest
from lganim.startcodes import seed_codes
from lganim.tools.bench_video import constant_edit, face_boxes, flicker
from lganim.tracks.track import Track
from lganim.video_edit import VideoEdit, VideoFace, edit_weights, steady
from lganim.weights.registry import get_domain
from tests.synth import PHOTO, camera_frame, write_camera_clip
from tests.videos import count_frames

FPS, FRAMES, CANVAS, SIDE = 25, 20, 160, 96


@pytest.fixture(scope="module")
def world():
    """The demo's editor; a clip of FRAMES frames rendered from known codes (the mouth opening), the crop square
    drifting across a textured canvas; the frames, the true codes, the quads."""
    anim = Animator.from_pretrained("demo", device="cpu")
    editor = anim.editor
    g = editor.stylegan
    t = np.arange(FRAMES) / FPS
    true = seed_codes(g, [3], 1.0)[0] + editor.directions().offsets(
        {"mouth_open": 0.4 * np.sin(np.pi * t / t[-1])})                                     # [T, L, D]
    centre = np.stack([CANVAS / 2 + 20 * np.sin(t), CANVAS / 2 + 10 * t], 1)
    half = SIDE / 2
    quads = np.stack([centre + [-half, -half], centre + [-half, half], centre + [half, half], centre + [half, -half]],
                     1)                                                                       # [T, 4, 2]
    yy, xx = np.mgrid[:CANVAS, :CANVAS]
    canvas = np.stack([100 + 50 * np.sin(xx / 7), 90 + 40 * np.cos(yy / 5), 120 + 0 * xx], -1).astype(np.uint8)

    def compose(codes):
        with torch.inference_mode():
            crops = to_uint8(editor.renderer(codes))
        return np.stack([blend_into(canvas, c.permute(2, 0, 1).float(), q, feather=0.0) for c, q in zip(crops, quads)])

    return dict(editor=editor, t=t, true=true, quads=quads, frames=compose(true), compose=compose, canvas=canvas)


def video_face(world, valid=None) -> VideoFace:
    valid = np.ones(FRAMES, dtype=bool) if valid is None else valid
    t = world["t"]
    return VideoFace(t, world["quads"], valid, (CANVAS, CANVAS), (CANVAS, CANVAS), Track(FPS, t, {}, valid))


def oracle(world, calls=None):
    """The true codes as the encoder's answer (`calls` records the frames asked for)."""
    def encode(indices, frames):
        if calls is not None:
            calls.extend(indices)
        return world["true"][indices]
    return encode


def run(edit: VideoEdit, frames, offsets, strength) -> np.ndarray:
    return np.concatenate([c.frames[0] for c in edit.stream(enumerate(frames), offsets, strength)])


def outside(quads) -> np.ndarray:
    """bool [CANVAS, CANVAS]: pixels outside every frame's crop square (with a pixel to spare)."""
    mask = np.ones((CANVAS, CANVAS), dtype=bool)
    for q in quads:
        (x0, y0), (x1, y1) = np.floor(q.min(0)).astype(int) - 1, np.ceil(q.max(0)).astype(int) + 1
        mask[max(y0, 0):y1, max(x0, 0):x1] = False
    return mask


def test_an_edit_fades_in_and_out_within_its_time_range():
    t = np.arange(100) / 25.0
    np.testing.assert_array_equal(edit_weights(t, None, None, 0), np.ones((100, 1)))
    w = edit_weights(t, 1.0, 2.0, 1)                                       # [T, controls + 1 segment]
    assert w.shape == (100, 2) and np.array_equal(w[:, 0], w[:, 1])
    assert not w[t <= 1.0].any() and not w[t >= 2.0].any()                 # nothing outside [start, end]
    assert (w[(t >= 1.0 + VIDEO_EDIT_RAMP) & (t <= 2.0 - VIDEO_EDIT_RAMP)] == 1).all()
    assert 0 < w[(t > 1.0) & (t < 1.0 + VIDEO_EDIT_RAMP), 0].min() < 1
    assert (np.diff(w[(t >= 1.0) & (t <= 1.5), 0]) >= 0).all()
    two = edit_weights(t, None, None, 2)                                   # "A; then B": B from the middle on
    assert (two[:, 1] == 1).all() and not two[t < 1.98, 2].any() and (two[t > 2.2, 2] == 1).all()
    with pytest.raises(LganimError, match="after the video's last frame"):
        edit_weights(t, 5.0, None, 1)


def test_steady_averages_only_the_frames_with_the_face():
    t = np.arange(9) / 25.0
    values = np.arange(9.0)[:, None] ** 2
    valid = np.ones(9, dtype=bool)
    valid[4] = False
    out = steady(t, values, valid, 0.04)
    assert out[4, 0] == 16.0                                               # a lost frame keeps its value ...
    assert abs(out[3, 0] - 9.0) < 3 and out[3, 0] != 9.0                   # ... and is no neighbour's
    np.testing.assert_allclose(steady(t, values, valid, 0.0), values)      # σ 0: unchanged
    np.testing.assert_allclose(steady(t, np.ones((9, 1)), valid, 0.1), np.ones((9, 1)))


def test_the_residual_with_the_true_codes_is_the_true_edit(world):
    offsets = constant_edit(world["editor"], world["t"])
    edit = VideoEdit(None, world["editor"], video_face(world), smooth=0.0, encode=oracle(world))
    edited = run(edit, world["frames"], offsets, 1.0)
    ideal = world["compose"](world["true"] + offsets)
    boxes = face_boxes(world["quads"], (CANVAS, CANVAS))
    inner = [(slice(b[0].start + 12, b[0].stop - 12), slice(b[1].start + 12, b[1].stop - 12)) for b in boxes]
    err = max(np.abs(edited[k][b].astype(int) - ideal[k][b]).max() for k, b in enumerate(inner))
    change = max(np.abs(world["frames"][k][b].astype(int) - ideal[k][b]).max() for k, b in enumerate(inner))
    assert err <= 2 < change                                               # inside the feathered edge: exact
    np.testing.assert_array_equal(edited[:, outside(world["quads"])], world["frames"][:, outside(world["quads"])])


def test_strength_zero_a_lost_face_and_frames_outside_the_edit_pass_through_untouched(world):
    frames, t = world["frames"], world["t"]
    offsets = constant_edit(world["editor"], t)
    calls = []
    edit = VideoEdit(None, world["editor"], video_face(world), encode=oracle(world, calls))
    np.testing.assert_array_equal(run(edit, frames, offsets, 0.0), frames)
    assert calls == []                                                     # nothing inverted, nothing rendered
    valid = np.ones(FRAMES, dtype=bool)
    valid[[3, 4]] = False
    ranged = offsets * torch.from_numpy(edit_weights(t, 0.2, 0.5, 0)[:, :1]).float()[:, :, None]
    edited = run(VideoEdit(None, world["editor"], video_face(world, valid), encode=oracle(world, calls)),
                 frames, ranged, 1.0)
    unchanged = ~valid | (ranged.flatten(1).abs().sum(1) == 0).numpy()
    np.testing.assert_array_equal(edited[unchanged], frames[unchanged])
    assert all((edited[k] != frames[k]).any() for k in np.flatnonzero(~unchanged))
    assert len(calls) == len(set(calls)) and not set(calls) & {3, 4}       # each code once; lost faces never


def test_frames_stream_in_bounded_chunks_with_their_sources(world):
    offsets = constant_edit(world["editor"], world["t"])
    edit = VideoEdit(None, world["editor"], video_face(world), encode=oracle(world), chunk_size=4)
    reach = int((edit.windows[1] - 1 - np.arange(FRAMES)).max())          # the look-ahead of the codes' smoothing
    read = []

    def frames():
        for i, f in enumerate(world["frames"]):
            read.append(i)
            yield i, f

    starts = []
    for chunk in edit.stream(frames(), offsets, 1.0):
        n = chunk.frames.shape[1]
        assert chunk.frames.shape == (1, n, CANVAS, CANVAS, 3) and 1 <= n <= 4
        np.testing.assert_array_equal(chunk.source, world["frames"][chunk.index:chunk.index + n])
        assert len(read) - (chunk.index + n) <= 4 + reach                  # held: a chunk and the look-ahead
        starts.append(chunk.index)
    assert starts == list(range(0, FRAMES, 4))


def test_the_preview_is_the_clips_frame(world, monkeypatch):
    t = world["t"]
    offsets = constant_edit(world["editor"], t) * torch.from_numpy(edit_weights(t, 0.3, None, 0)[:, :1]).float()[
        :, :, None]
    edit = VideoEdit(None, world["editor"], video_face(world), encode=oracle(world))
    monkeypatch.setattr(edit, "frames", lambda stop=None: ((i, f) for i, f in enumerate(world["frames"][:stop])))
    index, original, edited, w = edit.preview(offsets, 1.0)
    assert index == int(np.argmax(t >= 0.3 + VIDEO_EDIT_RAMP))             # the first frame at the full edit
    np.testing.assert_array_equal(original, world["frames"][index])
    clip = run(edit, world["frames"], offsets, 1.0)
    assert np.abs(edited.astype(int) - clip[index]).max() <= 1 and (edited != original).any()
    assert w.shape == world["true"].shape[1:]


def test_the_reconstruction_pastes_the_stylegans_face_even_at_strength_zero(world):
    offsets = constant_edit(world["editor"], world["t"])
    noisy = lambda indices, frames: world["true"][indices] + 0.5 * torch.randn(len(indices), *world["true"].shape[1:])  # noqa: E731
    edit = VideoEdit(None, world["editor"], video_face(world), residual=False, encode=noisy)
    still = run(edit, world["frames"], offsets, 0.0)
    boxes = face_boxes(world["quads"], (CANVAS, CANVAS))
    assert (still != world["frames"]).any()                                # the reconstruction, not the frame
    steadier = VideoEdit(None, world["editor"], video_face(world), residual=False, encode=noisy, smooth=0.12)
    assert flicker(run(steadier, world["frames"], offsets, 0.0), boxes) < flicker(still, boxes)


def test_a_domain_without_a_photo_encoder_is_refused_in_one_line(world, tmp_path):
    demo = world["editor"]
    dog = Animator(get_domain("dog"), demo.stylegan, demo.renderer, None)
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"never read")
    with pytest.raises(LganimError, match="dog domain has no photo encoder"):
        dog.edit_video(VideoEditRequest(video=video, controls={"smile": 0.1}))


@pytest.mark.slow                # tracks and decodes a clip with ffmpeg
def test_the_door_edits_a_clip_at_its_times_with_its_sound_and_only_inside_the_range(tmp_path):
    path = tmp_path / "clip.mp4"
    write_camera_clip(path, seconds=1.2, fps=25, size=(320, 320), sound=True)
    result = Animator.from_pretrained("demo", device="cpu").edit_video(
        VideoEditRequest(video=path, controls={"smile": 0.1}, start=0.4, end=0.8))
    assert isinstance(result, AnimationResult) and result.plan.motion.audio == path
    assert result.plan.request.num_frames == 30 and result.plan.fps == pytest.approx(25.0)
    assert result.info["lost"] == 0 and result.info["size"] == result.info["source_size"] == (320, 320)
    chunks = list(result.chunks())
    frames = np.concatenate([c.frames[0] for c in chunks])
    source = np.concatenate([c.source for c in chunks])
    still = np.concatenate([c.frames[0] for c in result.rerender(strength=0.0).chunks()])
    np.testing.assert_array_equal(still, source)                           # strength 0: the decoded frames
    t = np.arange(30) / 25
    kept = (t <= 0.4) | (t >= 0.8)
    np.testing.assert_array_equal(frames[kept], source[kept])              # outside the range: exactly the clip
    assert all((frames[k] != source[k]).any() for k in np.flatnonzero(~kept))
    original, edited = result.info["preview"]
    index = result.info["preview_index"]
    assert t[index] == pytest.approx(0.6)                                  # where the edit is at its full
    np.testing.assert_array_equal(original, source[index])
    assert np.abs(edited.astype(int) - frames[index]).max() <= 1
    saved = result.save(tmp_path / "edited.mp4")
    assert count_frames(saved) == 30 and has_audio(saved)


@pytest.mark.slow                # tracks and decodes a clip with ffmpeg
def test_a_large_clip_is_edited_at_the_size_cap_and_frames_without_the_face_pass_through(tmp_path):
    """1200×700 frames are edited at MAX_VIDEO_SIDE on the longer side (the result says so); two blank frames in the
    middle have no face, and come out as they went in."""
    face = camera_frame(PHOTO, 0.0, (0, 0), size=(1200, 700), scale=1.6)
    blank = np.full_like(face, 96)
    path = tmp_path / "large.mp4"
    write_mp4_stream([np.stack([face, face, blank, blank, face, face])], path, 12)
    result = Animator.from_pretrained("demo", device="cpu").edit_video(
        VideoEditRequest(video=path, controls={"smile": 0.1}))
    assert result.info["source_size"] == (1200, 700) and result.info["size"] == (MAX_VIDEO_SIDE, 597)
    assert result.info["lost"] == 2 and result.info["frames"] == 6
    chunks = list(result.chunks())
    frames, source = chunks[0].frames[0], chunks[0].source
    assert frames.shape == (6, 597, MAX_VIDEO_SIDE, 3)
    np.testing.assert_array_equal(frames[2:4], source[2:4])
    assert all((frames[k] != source[k]).any() for k in (0, 1, 4, 5))
