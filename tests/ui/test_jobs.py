"""Requests as streams of updates: frames while they render, then the files; re-renders; what pickles."""

import pickle

import numpy as np

from lganim.media.writers import count_frames
from lganim.request import DriveRequest, Driving, Request
from tests import FACE_PHOTO
from tests.synth import write_speech
from ui import jobs
from ui.files import REQUEST_DIR_PREFIX
from ui.models import Animators

SMILE = "The person is smiling."


def quiet(fraction, text):
    pass


def test_a_request_streams_then_writes_and_a_rerender_reuses_its_motion(tmp_path):
    animators = Animators()
    updates = list(jobs.run(animators, "demo", Request(SMILE, 2, num_frames=6, fps=6), tmp_path, quiet,
                               write_gif=True))
    final = updates[-1]
    assert any(u.live is not None for u in updates[:-1]) and final.videos and final.clip is not None
    assert count_frames(final.videos[0]) == 6 and count_frames(final.gif) == 6
    assert final.clip.plan.w0.device.type == "cpu"                      # kept on the CPU, ready to pickle
    frames = np.load(final.clip.frames)
    still = list(jobs.rerender(animators, final.clip, tmp_path, quiet, strength=0.0, truncation=1.0, fps=6))[-1]
    assert count_frames(still.videos[0]) == 6 and "6 frames" in still.status
    assert np.array_equal(np.load(still.clip.frames), np.repeat(frames[:, :1], 6, axis=1))
    faster = list(jobs.rerender(animators, final.clip, tmp_path, quiet, strength=1.0, truncation=1.0, fps=12))
    assert len(faster) == 1 and "12 fps" in faster[0].status          # the same frames, encoded again
    assert np.array_equal(np.load(faster[0].clip.frames), frames)


def test_a_stopped_request_leaves_no_folder(tmp_path):
    animators = Animators()
    stream = jobs.run(animators, "demo", Request(SMILE, 1, num_frames=40), tmp_path, quiet, write_gif=True)
    while next(stream).live is None:
        pass
    stream.close()
    assert not list(tmp_path.glob(REQUEST_DIR_PREFIX + "*"))


def test_every_update_pickles(tmp_path):
    """On ZeroGPU the GPU work runs in a forked worker: every update it yields crosses back pickled."""
    animators = Animators()
    for request in (Request("The person is smiling.", 1, num_frames=3), Request("x", image=FACE_PHOTO, num_frames=2)):
        updates = list(jobs.run(animators, "demo", request, tmp_path, None, write_gif=True))
        for update in updates:
            back = pickle.loads(pickle.dumps(update))
            assert back.status == update.status
        clip = pickle.loads(pickle.dumps(updates[-1].clip))
        rerendered = list(jobs.rerender(animators, clip, tmp_path, None, strength=0.0, truncation=1.0, fps=6))
        assert rerendered[-1].videos and pickle.dumps(rerendered[-1])
    speech = write_speech(tmp_path / "speech.wav", seconds=1.0, bursts=((0.2, 0.6),))
    request = pickle.loads(pickle.dumps(DriveRequest(Driving("audio", speech), 1, fps=10)))
    for update in [*jobs.drive(animators, "demo", request, tmp_path, None),
                   *jobs.predict(animators, "demo", Request("x", 1, num_frames=4, fps=4), 2, tmp_path, None)]:
        assert pickle.loads(pickle.dumps(update)).status == update.status
