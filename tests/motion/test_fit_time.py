"""How long a fit takes here: the record of measured step times, the first guess, the status line."""
import pytest
import torch

from lganim.config import FitSettings
from lganim.motion import fit_time

CPU = torch.device("cpu")


def test_the_record_keeps_the_median_step_per_device_and_kind_of_fit(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    fast = fit_time.record_key(CPU, "human", FitSettings(dtype="fp32", faces_per_step=1))
    reference = fit_time.record_key(CPU, "human", FitSettings.reference(faces_per_step=4))
    assert len({fast, reference, fit_time.record_key(CPU, "dog", FitSettings(dtype="fp32", faces_per_step=1)),
                fit_time.record_key(CPU, "human", FitSettings(dtype="fp32", faces_per_step=2))}) == 4
    assert fit_time.record_key(CPU, "human", FitSettings(dtype="fp32", faces_per_step=1, batch=8)) == fast
    assert fit_time.measured_step_seconds(fast) is None
    fit_time.record_step_seconds(fast, [9.0, 2.0, 3.0])                          # the first step embeds the prompts
    fit_time.record_step_seconds(reference, [])                                 # no step: nothing to keep
    assert fit_time.measured_step_seconds(fast) == 3.0 and fit_time.measured_step_seconds(reference) is None
    fit_time.record_step_seconds(fast, [4.0])
    assert fit_time.measured_step_seconds(fast) == 4.0                          # the last fit's
    fit_time.record_path().write_text("{not json")
    assert fit_time.measured_step_seconds(fast) is None                         # a damaged record is a guess again
    fit_time.record_step_seconds(fast, [5.0])
    assert fit_time.measured_step_seconds(fast) == 5.0


def test_first_guess_and_the_budget():
    assert fit_time.prior_step_seconds(CPU, 1024, 4) == pytest.approx(41.0)
    assert fit_time.prior_step_seconds(torch.device("cuda"), 1024, 4) == pytest.approx(0.13)
    settings = FitSettings(steps=100, max_seconds=120.0)
    assert fit_time.fit_seconds(settings, 0.5) == 50.0
    assert fit_time.fit_seconds(settings, 10.0) == 120.0
    line = fit_time.estimate_line("The person is smiling.", settings, 10.0, CPU, "a first guess")
    assert line == ("fitting 'The person is smiling.': about 2 min on cpu (100 steps of 10 s, a first guess); the "
                    "120 s budget stops it after about 12 steps: the motion may be weak")
    assert "budget" not in fit_time.estimate_line("x", settings, 0.5, CPU, "measured by earlier fits")
