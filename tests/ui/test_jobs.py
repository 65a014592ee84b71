"""Requests as streams of updates: frames while they render into the MP4, then the files; re-renders; budgets;
what pickles."""
import dataclasses
import pickle

import numpy as np
import pytest

from lganim.errors import LganimError
from lganim.media.video_reader import read_video
from lganim.request import DriveRequest, Driving, PredictRequest, Request, VideoEditRequest
from tests import FACE_PHOTO
from tests.synth import write_camera_clip, write_speech
from tests.videos import count_frames
from ui import jobs
from ui.files import REQUEST_DIR_PREFIX
from ui.models import Animators
from ui.settings import Settings

SMILE = "The person is smiling."
SETTINGS = Settings()


def quiet(fraction, text):
    pass


@pytest.fixture(scope="module")
def animators():
    return Animators()


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_a_request_streams_into_its_mp4_then_a_rerender_reuses_its_motion(animators, tmp_path):
    request = Request(prompts=SMILE, seeds=2, num_frames=6, fps=6)
    updates = list(jobs.run(animators, "demo", request, tmp_path, quiet, SETTINGS))
    final = updates[-1]
    assert any(u.live is not None for u in updates[:-1]) and final.videos and final.clip is not None
    assert count_frames(final.videos[0]) == 6 and count_frames(final.gif) == 6
    assert final.clip.plan.w0.device.type == "cpu" and final.clip.first.shape == (1, 128, 128, 3)
    still = list(jobs.rerender(animators, final.clip, tmp_path, quiet, SETTINGS, strength=0.0, truncation=1.0,
                               fps=6))[-1]
    assert count_frames(still.videos[0]) == 6 and "6 frames" in still.status
    moved = read_video(still.videos[0]).frames
    assert np.abs(moved.astype(int) - moved[:1]).mean() < 0.5           # the still face (H.264's rounding)
    faster = list(jobs.rerender(animators, final.clip, tmp_path, quiet, SETTINGS, strength=1.0, truncation=1.0,
                                fps=12))[-1]
    assert "12 fps" in faster.status and count_frames(faster.videos[0]) == 6


def test_a_stopped_request_leaves_no_folder(animators, tmp_path):
    stream = jobs.run(animators, "demo", Request(prompts=SMILE, seeds=1, num_frames=40), tmp_path, quiet, SETTINGS)
    while next(stream).live is None:
        pass
    stream.close()
    assert not list(tmp_path.glob(REQUEST_DIR_PREFIX + "*")) and not list(tmp_path.rglob("*.mp4"))


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_a_request_past_its_time_or_disk_budget_stops_between_chunks(animators, tmp_path, monkeypatch):
    clock = iter(range(0, 10 ** 6, 100))                                   # 100 s a call: past 150 s at once
    monkeypatch.setattr(jobs, "clock", lambda: next(clock))
    with pytest.raises(LganimError, match="Stopped after .* of 40 frames: the request ran past the 150 s"):
        list(jobs.run(animators, "demo", Request(prompts=SMILE, seeds=1, num_frames=40), tmp_path, quiet,
                      dataclasses.replace(SETTINGS, request_seconds=150)))
    monkeypatch.undo()
    with pytest.raises(LganimError, match="larger than the 0 MB one request may write"):
        list(jobs.run(animators, "demo", Request(prompts=SMILE, seeds=1, num_frames=40), tmp_path, quiet,
                      dataclasses.replace(SETTINGS, request_bytes=200)))
    assert not list(tmp_path.glob(REQUEST_DIR_PREFIX + "*"))


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_the_disk_budget_counts_every_file_the_request_writes(animators, tmp_path):
    """Not only each MP4: the GIF, and every future of a prediction, count against what one request may write; a
    GIF that would not fit is never written."""
    def capped(request_bytes):
        return dataclasses.replace(SETTINGS, request_bytes=request_bytes)

    clip = Request(prompts=SMILE, seeds=5, num_frames=48)
    final = list(jobs.run(animators, "demo", clip, tmp_path / "a", quiet, SETTINGS))[-1]
    mp4, gif = final.videos[0].stat().st_size, final.gif.stat().st_size
    with pytest.raises(LganimError, match=r"'clip0.gif' would be larger than the [\d.]+ MB this request may still"):
        list(jobs.run(animators, "demo", clip, tmp_path / "b", quiet, capped(mp4 + gif // 2)))
    assert [p.name for p in (tmp_path / "b").glob("*/*") if not p.name.startswith(".")] == ["clip0.mp4"]
    futures = PredictRequest(seed=1, samples=2, num_frames=12, fps=6)
    sizes = [v.stat().st_size for v in list(jobs.predict(animators, "demo", futures, tmp_path / "c", quiet,
                                                         SETTINGS))[-1].videos]
    with pytest.raises(LganimError, match="larger than the 0 MB one request may write"):
        list(jobs.predict(animators, "demo", futures, tmp_path / "d", quiet, capped(sizes[0] + sizes[1] // 2)))
    assert not list((tmp_path / "d").glob(REQUEST_DIR_PREFIX + "*"))


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_a_driven_face_reports_tracking_and_ends_with_the_videos(animators, tmp_path):
    speech = write_speech(tmp_path / "speech.wav", seconds=1.0, bursts=((0.2, 0.6),))
    request = DriveRequest(driving=Driving(kind="audio", source=speech), seed=1, fps=10)
    updates = list(jobs.drive(animators, "demo", request, tmp_path, quiet, SETTINGS))
    assert updates[0].status == "Reading what drives the face…"
    final = updates[-1]
    assert count_frames(final.videos[0]) == 10 and final.tracks and final.curves is not None
    assert final.done == final.total == 10


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_an_edited_video_previews_then_streams_beside_its_original_and_a_stop_leaves_nothing(animators, tmp_path):
    path = tmp_path / "clip.mp4"
    write_camera_clip(path, seconds=1.0, fps=12, size=(320, 320), sound=True)
    request = VideoEditRequest(video=path, controls={"smile": 0.1})
    stream = jobs.edit_video(animators, "demo", request, tmp_path, quiet, SETTINGS)
    assert next(stream).status == "Reading the video…"
    update = next(stream)
    while not update.status.startswith("Preview"):
        update = next(stream)
    assert update.live.shape == (320, 640, 3) and update.total == 12                   # original | edited
    update = next(stream)
    assert update.status.startswith("Rendering…") and update.live.shape == (320, 640, 3)
    stream.close()                                                         # Cancel
    assert not list(tmp_path.glob(REQUEST_DIR_PREFIX + "*")) and list(tmp_path.rglob("*.mp4")) == [path]
    final = list(jobs.edit_video(animators, "demo", request, tmp_path, quiet, SETTINGS))[-1]
    assert count_frames(final.videos[0]) == 12 and final.side_by_side is not None and pickle.dumps(final)


def test_background_work_reports_its_stages_and_stops_when_closed():
    seen = []

    def work(report):
        for k in range(1000):
            report("Tracking the face", k, 1000)
            seen.append(k)
        return "done"

    lines = jobs.background(work, quiet)
    assert next(lines) == "Tracking the face… 0/1000"
    lines.close()                                                          # Cancel: the work stops at its next report
    assert len(seen) < 1000


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_the_slow_stages_of_a_request_are_status_lines(animators, tmp_path):
    """A photo's face, its encoding and refinement (and a new prompt's fit) are said while they run, each as it
    begins: the page's status line is where a request's progress shows."""
    request = Request(prompts=SMILE, image=FACE_PHOTO, num_frames=2, refine_steps=2)
    said = [u.status for u in jobs.run(animators, "demo", request, tmp_path, quiet, SETTINGS)]
    stages = ["Finding the face in the photo…", "Encoding the photo…", "Refining the photo… 0/2",
              "Rendering… 2/2 frames"]
    assert all(stage in said for stage in stages), said
    assert sorted(stages, key=said.index) == stages


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_every_update_pickles(animators, tmp_path):
    """On ZeroGPU the GPU work runs in a forked worker: every update it yields crosses back pickled."""
    for request in (Request(prompts=SMILE, seeds=1, num_frames=3),
                    Request(prompts="x", image=FACE_PHOTO, num_frames=2)):
        updates = list(jobs.run(animators, "demo", request, tmp_path, None, SETTINGS))
        for update in updates:
            assert pickle.loads(pickle.dumps(update)).status == update.status
        clip = pickle.loads(pickle.dumps(updates[-1].clip))
        rerendered = list(jobs.rerender(animators, clip, tmp_path, None, SETTINGS, strength=0.0, truncation=1.0,
                                        fps=6))
        assert rerendered[-1].videos and pickle.dumps(rerendered[-1])
    request = PredictRequest(seed=1, samples=2, num_frames=4, fps=4)
    futures = list(jobs.predict(animators, "demo", request, tmp_path, None, SETTINGS))
    assert [count_frames(v) for v in futures[-1].videos] == [4, 4] and len(set(futures[-1].captions)) == 2
    assert all(pickle.loads(pickle.dumps(u)).status == u.status for u in futures)
