"""What the app shows and runs, without the UI: domain notices, a request as a stream of updates, re-rendering."""
import os

import numpy as np
import pytest

from lganim import service
from lganim.domains import DOMAINS
from lganim.errors import LganimError
from lganim.request import Request
from lganim.video import count_frames

SMILE = "The person is smiling."


def quiet(fraction, text):
    pass


def test_start_domain_falls_back_to_demo_without_weights(monkeypatch, weights_dir):
    monkeypatch.delenv("LGANIM_DOMAIN", raising=False)
    domain, notice = service.start_domain()             # conftest: HF_HUB_OFFLINE=1, empty caches
    assert domain == "demo" and "human" in notice and "offline" in notice and "\n" not in notice
    (weights_dir / "stylegan2-ffhq-config-f.pt").write_bytes(b"placeholder")   # found on disk, never opened
    assert service.start_domain() == ("human", "")
    monkeypatch.setenv("LGANIM_DOMAIN", "cats")
    assert service.start_domain()[0] == "demo" and "cats" in service.start_domain()[1]


def test_domain_labels_and_footer_carry_licences():
    assert "untrained random weights, for trying the app offline" in service.domain_label("demo")
    assert "non-commercial" in service.domain_label("human")
    footer = service.footer()
    assert "non-commercial" in footer and "2208.05617" in footer and "untrained" in footer
    info, psi = service.domain_info("dog")
    assert "non-commercial" in info and psi == DOMAINS["dog"].truncation


def test_paper_prompts_are_the_28_training_prompts():
    assert len(set(service.PAPER_PROMPTS)) == 28
    assert service.PAPER_PROMPTS[0] == SMILE and "The person is winking." in service.PAPER_PROMPTS


def test_photos_are_refused_before_a_domain_without_an_encoder_loads():
    with pytest.raises(LganimError, match="The dog domain cannot animate photos.*human"):
        service.checked_domain("dog", Request(SMILE, image="face.png"))
    with pytest.raises(LganimError, match="Unknown domain 'cats'"):
        service.checked_domain("cats", Request(SMILE))


def test_a_request_streams_then_writes_and_a_rerender_reuses_its_motion(tmp_path):
    animators = service.Animators()
    updates = list(service.run(animators, "demo", Request(SMILE, 2, num_frames=6, fps=6), tmp_path, quiet,
                               write_gif=True))
    final = updates[-1]
    assert any(u.live is not None for u in updates[:-1]) and final.videos and final.clip is not None
    assert count_frames(final.videos[0]) == 6 and count_frames(final.gif) == 6
    assert final.clip.plan.w0.device.type == "cpu"                      # kept on the CPU, ready to pickle
    frames = np.load(final.clip.frames)
    still = list(service.rerender(animators, final.clip, tmp_path, quiet, strength=0.0, truncation=1.0, fps=6))[-1]
    assert count_frames(still.videos[0]) == 6 and "6 frames" in still.status
    assert np.array_equal(np.load(still.clip.frames), np.repeat(frames[:, :1], 6, axis=1))
    faster = list(service.rerender(animators, final.clip, tmp_path, quiet, strength=1.0, truncation=1.0, fps=12))
    assert len(faster) == 1 and "12 fps" in faster[0].status          # the same frames, encoded again
    assert np.array_equal(np.load(faster[0].clip.frames), frames)


def test_a_stopped_request_leaves_no_folder(tmp_path):
    animators = service.Animators()
    stream = service.run(animators, "demo", Request(SMILE, 1, num_frames=40), tmp_path, quiet, write_gif=True)
    while next(stream).live is None:
        pass
    stream.close()
    assert not list(tmp_path.glob(service.REQUEST_DIR_PREFIX + "*"))


def test_old_request_folders_are_swept(tmp_path):
    old = service.request_dir(tmp_path)
    os.utime(old, (0, 0))
    new = service.request_dir(tmp_path)
    assert new.exists() and not old.exists()
