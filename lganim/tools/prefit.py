"""`lganim prefit`: fit a domain's prompts (the paper's 28 expressions, or those given) and its control directions
once, into a presets bundle (lganim/motion/presets.py) with a model card, and upload it to the Hub (`--push`).

No time budget: every prompt runs all its steps. The bundle is written after each prompt (its tensors, then the
index that names it), so a prefit that stops resumes where it was: the prompts its index holds are kept, the others
fitted. The fits also land in lganim's fit cache, so a prompt fitted there already with the same settings is read,
not fitted again. Each prompt is scored by the reference objective (`PromptFitter.judge`: fp32 full resolution, as
the fit benchmark judges) before and after its fit; a strip shows it on faces that were not fitted on.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from .. import __version__
from ..config import FitSettings, LossProgress, StepProgress
from ..errors import LganimError
from ..files import atomic_path
from ..media.preview import frame_strip
from ..models.renderer import Renderer
from ..models.stylegan2 import Generator
from ..motion.calibration import calibrate_domain
from ..motion.directions import cached_directions
from ..motion.fitted import FitResult, FittedMotion, build_fitter
from ..motion.presets import (
    INDEX,
    load_presets,
    matches,
    new_index,
    open_bundle,
    read_prompt_tensors,
    write_directions,
    write_prompt,
)
from ..pipeline import Animator
from ..weights.domain_files import DomainFiles
from ..weights.registry import NVIDIA_NC, Domain

NO_BUDGET = 1e9                     # seconds: a time budget no fit reaches
STRIP_SEEDS = (100, 101)            # the faces of the strips (the fit's are seeds 0 to 3)
STRIP_FRAMES = 8
STRIPS = "strips"                   # the strips' folder in the bundle: strips/<tensor>.png
CARD_LICENCES = {"MIT (generated locally)": "mit", "CC0-1.0": "cc0-1.0"}   # the Hub's licence ids; else "other"


def prefit(domain: Domain, files: DomainFiles, stylegan: Generator, renderer: Renderer, out: Path,
           prompts: list[str], settings: FitSettings = FitSettings(), *,
           fitting: Callable[[str], LossProgress | None] = lambda prompt: None,
           calibrating: StepProgress | None = None, say: Callable[[str], None] = print) -> dict:
    """Fit `prompts` and the control directions of the loaded domain into the bundle `out` (a new or empty folder,
    or one this prefit resumes) and write its model card; returns the index. fitting(prompt): the progress of
    that prompt's fit; say: a line per prompt."""
    fitter = build_fitter(domain, files, stylegan, settings=replace(settings, max_seconds=NO_BUDGET))
    index = start_bundle(out, new_index(domain, files, fitter.settings))
    if index["prompts"]:                                # resumed: its prompts are fitted (and drawn from it)
        fitter.preset(load_presets(open_bundle(out), domain, files, stylegan, fitter.settings).prompts)
        say(f"resuming {out}: {len(index['prompts'])} prompts fitted already")
    todo = [p for p in dict.fromkeys(prompts) if p not in index["prompts"]]
    for prompt in todo:
        result = fitter.fit(prompt, fitting(prompt))
        judged = FitResult(prompt, result.direction, fitter.judge(prompt, torch.zeros_like(result.direction)),
                           fitter.judge(prompt, result.direction), result.steps, result.seconds, result.terms_last)
        index = write_prompt(out, index, judged, read_prompt_tensors(out, index))
        state = "from the fit cache" if result.cached else f"{result.steps} steps in {result.seconds:.0f} s"
        say(f"{prompt!r}: judged loss {judged.loss_first:.4f} -> {judged.loss_last:.4f} ({state})")
    if index["directions"] is None:
        controls = cached_directions(domain, files, stylegan) or calibrate_domain(
            domain, files, stylegan, progress=calibrating, fitter=fitter)
        index = write_directions(out, index, controls)
        say(f"control directions: {', '.join(sorted(set(controls.method.values())))}")
    anim = Animator(domain, stylegan, renderer, FittedMotion(fitter), files=files)
    for prompt, entry in index["prompts"].items():
        strip = out / STRIPS / f"{entry['tensor']}.png"
        if not strip.is_file():
            write_strip(anim, prompt, strip)
    with atomic_path(out / "README.md") as tmp:
        tmp.write_text(model_card(index, domain), encoding="utf-8")
    return index


def start_bundle(out: Path, fresh: dict) -> dict:
    """The index to go on from: the bundle in `out` when it is one this prefit resumes, else `fresh` (`out` new or
    empty). A folder of other files, or a bundle made for another domain, generator or settings, is refused."""
    if (out / INDEX).is_file():
        index = open_bundle(out).index
        why = matches(index, fresh)
        if why is not None:
            raise LganimError(f"{out} holds presets made otherwise ({why}): give a new folder.")
        return index
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LganimError(f"{out} exists and is not a presets bundle: give a new or empty folder.")
    out.mkdir(parents=True, exist_ok=True)
    return fresh


def write_strip(anim: Animator, prompt: str, path: Path) -> None:
    """A frame strip of `prompt` on the STRIP_SEEDS faces: a row of STRIP_FRAMES frames per face."""
    frames = anim(prompt, seed=list(STRIP_SEEDS), num_frames=STRIP_FRAMES).frames          # [B, T, H, W, 3]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(frame_strip(frames)).save(tmp, format="PNG")


def model_card(index: dict, domain: Domain) -> str:
    """The bundle's README.md: what it is, how it was made, a strip per prompt, and the licence it inherits."""
    s, g = index["settings"], index["generator"]
    licence_id = CARD_LICENCES.get(domain.licence, "other")
    front = f"license: {licence_id}\n" + (f"license_name: {slug(domain.licence)}\n" if licence_id == "other" else "")
    rows = "\n".join(f"| {prompt} | {e['loss_first']:.4f} → {e['loss_last']:.4f} | {e['steps']} | {e['seconds']:.0f} "
                     f"| ![{prompt}]({STRIPS}/{e['tensor']}.png) |" for prompt, e in index["prompts"].items())
    example = next(iter(index["prompts"]), f"The {domain.subject} is smiling.")
    methods = ", ".join(f"{c} {m}" for c, m in (index["directions"] or {"method": {}})["method"].items())
    fit = (f"path {s['path']} in {s['dtype'] or 'the generator dtype'}, {s['steps']} steps of Adam at {s['lr']} "
           f"({s['decay']}), {s['batch']} fitting faces (seeds {s['seed']} to {s['seed'] + s['batch'] - 1}, "
           f"{s['faces_per_step']} a step), "
           f"{s['frames']} frames, the loss image up to {s['loss_size'] or 'the full'} px, "
           f"{'the paper’s other expressions as negatives' if s['negatives'] else 'no negatives'}, loss weights "
           f"{s['weights'] or 'the paper’s'}")
    inherited = (" Those weights are for non-commercial use only, and so are these directions."
                 if domain.licence == NVIDIA_NC else "")
    return f"""---
library_name: lganim
{front}tags: [lganim, face-animation, stylegan2, clip, text-to-video]
---
# lganim presets: {domain.title}

Motion directions for the `{domain.name}` domain of lganim (language-guided face animation after Hang et al.,
*Language-Guided Face Animation by Recurrent StyleGAN-based Generator*, TMM 2023): for each prompt below, a W+
direction fitted once with the paper's losses, so that a request for it fits nothing; and the domain's control
directions (what a driving video, speech or the Edit sliders move), so that nothing is calibrated. They are for one
generator file only, `{g['file']}` with sha256 `{g['sha256']}`: lganim refuses them for any other.

## Use

    LGANIM_PRESETS=USER/NAME python -m lganim animate --domain {domain.name} --prompt "{example}"

or `Animator.from_pretrained("{domain.name}", presets="USER/NAME")` in Python (a folder works too). On a Space, set
its variable `LGANIM_PRESETS` to this repo.

## How it was made

`python -m lganim prefit --domain {domain.name}` (lganim {index['lganim']}, fit version {index['fit_version']}),
without a time budget: every prompt ran all its steps. The fit: {fit}. The losses below are the reference
objective (fp32, full resolution) before and after the fit. Control directions: {methods or 'none'}.

| prompt | judged loss | steps | seconds | strip (two faces not fitted on) |
|---|---|---|---|---|
{rows}

## Licence

These directions are derived from the {domain.name} StyleGAN2, whose weights are under {domain.licence}; they
inherit it.{inherited}
"""


def slug(text: str) -> str:
    """A licence's name as a YAML-safe id: lower case, words joined by hyphens."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def push_presets(out: Path, repo: str, private: bool) -> str:
    """Upload the bundle in `out` to the Hub model repo `repo` (HF_TOKEN); returns its URL. A failure is one line
    saying the bundle is whole in `out`."""
    from huggingface_hub import HfApi  # heavy (httpx): only when pushing
    from huggingface_hub.errors import HfHubHTTPError
    api = HfApi(token=os.environ.get("HF_TOKEN"))
    try:
        api.create_repo(repo, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(out), repo_id=repo, repo_type="model", ignore_patterns=[".*", "*/.*"],
                          commit_message=f"lganim presets ({__version__})")
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise LganimError(f"Could not push the presets to the Hub repo {repo} ({type(e).__name__}); they are whole "
                          f"in {out}: check HF_TOKEN and the network, then run the same prefit again (it fits "
                          f"nothing) or `hf upload {repo} {out}`.") from None
    return f"https://huggingface.co/{repo}"


__all__ = ["NO_BUDGET", "STRIP_SEEDS", "prefit", "start_bundle", "write_strip", "model_card", "push_presets"]
