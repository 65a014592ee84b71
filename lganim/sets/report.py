"""A set's evaluation (evaluate.py) written for people and programs: the markdown table per prompt, the CSV per clip
and one plot per prompt — CLIP direction against identity — drawn with Pillow (a set compared with another: both,
each prompt's two points joined). Every file is written atomically; JSON goes through `lganim.files.write_json`.
"""
from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..files import atomic_path
from .evaluate import CLIP_MEASURES, PROMPT_MEASURES

HEADINGS = {"clip_score": "CLIP score", "clip_direction": "CLIP direction", "identity": "identity (dlib)",
            "identity_arcface": "identity (ArcFace)", "acd_face": "ACD-face", "acd_shape": "ACD-shape",
            "ms_ssim": "MS-SSIM", "smoothness": "smoothness"}
COLOURS = ((31, 119, 180), (255, 127, 14))            # set A, set B
PLOT_SIZE = (900, 640)                                # width, height in pixels
MARGIN = (80, 50, 40, 110)                            # left, top, right, bottom


def shown(value) -> str:
    """A measure in a table: 3 significant digits, or — for null."""
    return "—" if value is None else f"{value:.3g}"


def markdown_table(result: dict) -> str:
    """One row per prompt (and set, when compared): clips and each measure; the reasons for the nulls below."""
    sets = [("A", result)] + ([("B", result["compare"])] if "compare" in result else [])
    head = ["prompt", *(["set"] if len(sets) > 1 else []), "clips", *(HEADINGS[m] for m in PROMPT_MEASURES)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    reasons: dict[str, set[str]] = {}
    prompts = list(dict.fromkeys(p for _, s in sets for p in s["prompts"]))
    for prompt in prompts:
        for label, s in sets:
            measures = s["prompts"].get(prompt)
            if measures is None:
                continue
            cells = [prompt.replace("|", "\\|"), *([label] if len(sets) > 1 else []), str(measures["clips"]),
                     *(shown(measures.get(m)) for m in PROMPT_MEASURES)]
            lines.append("| " + " | ".join(cells) + " |")
            for m in PROMPT_MEASURES:
                if measures.get(f"{m}_why"):
                    reasons.setdefault(HEADINGS[m], set()).add(measures[f"{m}_why"])
    names = "".join(f"\n{label}: {s['set']}" for label, s in sets) if len(sets) > 1 else ""
    notes = "".join(f"\n- {heading}: {'; '.join(sorted(whys))}" for heading, whys in reasons.items())
    return "\n".join(lines) + "\n" + (f"{names}\n" if names else "") + (f"\nNot measured (—) or partly:{notes}\n"
                                                                         if notes else "")


def write_markdown(path: Path, result: dict) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(markdown_table(result), encoding="utf-8")
    return path


def write_csv(path: Path, result: dict) -> Path:
    """One line per clip (of both sets when compared): set, id, prompt, domain, rank, frames, each measure, and why
    the null ones are null."""
    sets = [result] + ([result["compare"]] if "compare" in result else [])
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["set", "id", "prompt", "domain", "rank", "frames", *CLIP_MEASURES, "why"])
        for s in sets:
            for clip in s["clips"]:
                why = "; ".join(f"{m}: {clip[f'{m}_why']}" for m in CLIP_MEASURES if clip.get(f"{m}_why"))
                writer.writerow([s["set"], clip["id"], clip["prompt"], clip["domain"], clip["rank"], clip["frames"],
                                 *("" if clip[m] is None else f"{clip[m]:.6g}" for m in CLIP_MEASURES), why])
    return path


def short(prompt: str) -> str:
    """"The person is smiling." -> "smiling": the part a plot's label needs."""
    words = prompt.rstrip(".").split(" is ", 1)
    return words[-1] if len(words) == 2 else prompt


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    return [lo + (hi - lo) * k / (count - 1) for k in range(count)]


def span(values: list[float]) -> tuple[float, float]:
    """An axis range around the values, with a margin (a tenth of the spread, at least 0.05)."""
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.1, 0.05)
    return lo - pad, hi + pad


def plot(result: dict) -> Image.Image:
    """Each prompt a point, x its CLIP direction and y its identity (dlib): set A in blue, set B in orange, a
    prompt's two points joined; prompts with a null measure are listed under the plot instead."""
    sets = [result] + ([result["compare"]] if "compare" in result else [])
    width, height = PLOT_SIZE
    left, top, right, bottom = MARGIN
    image = Image.new("RGB", PLOT_SIZE, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    points: list[dict[str, tuple[float, float]]] = []
    missing: list[str] = []
    for s in sets:
        placed = {}
        for prompt, m in s["prompts"].items():
            if m.get("clip_direction") is None or m.get("identity") is None:
                why = m.get("identity_why") if m.get("identity") is None else m.get("clip_direction_why")
                missing.append(f"{short(prompt)}: {why}")
            else:
                placed[prompt] = (m["clip_direction"], m["identity"])
        points.append(placed)
    xs = [p[0] for placed in points for p in placed.values()] or [0.0]
    ys = [p[1] for placed in points for p in placed.values()] or [0.0]
    (x0, x1), (y0, y1) = span(xs), span(ys)

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0) * (width - left - right),
                height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom))

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for x in ticks(x0, x1):
        px, _ = at(x, y0)
        draw.line([px, height - bottom, px, height - bottom + 5], fill="black")
        draw.text((px, height - bottom + 8), f"{x:.2f}", fill="black", font=font, anchor="mt")
    for y in ticks(y0, y1):
        _, py = at(x0, y)
        draw.line([left - 5, py, left, py], fill="black")
        draw.text((left - 8, py), f"{y:.3f}", fill="black", font=font, anchor="rm")
    draw.text((width / 2, 18), "per prompt: CLIP direction (x) against identity (y)", fill="black", font=font,
              anchor="mm")
    draw.text((width / 2, height - bottom + 30), "CLIP direction: does the clip move toward the sentence",
              fill="black", font=font, anchor="mt")
    draw.text((12, top - 24), "identity (dlib, to the first frame)", fill="black", font=font)
    if len(points) == 2:
        for prompt, a in points[0].items():
            if prompt in points[1]:
                draw.line([*at(*a), *at(*points[1][prompt])], fill=(150, 150, 150), width=1)
    for k, (s, placed) in enumerate(zip(sets, points)):
        for prompt, (x, y) in placed.items():
            px, py = at(x, y)
            draw.ellipse([px - 5, py - 5, px + 5, py + 5], fill=COLOURS[k])
            draw.text((px + 8, py), short(prompt), fill=(60, 60, 60), font=font, anchor="lm")
        if len(sets) > 1:
            draw.text((width - right - 8, top + 8 + 18 * k), f"{'AB'[k]}: {Path(s['set']).name}", fill=COLOURS[k],
                      font=font, anchor="ra")
    for k, line in enumerate(sorted(set(missing))[:3]):
        draw.text((12, height - 44 + 14 * k), f"not placed: {line}"[:140], fill=(180, 0, 0), font=font)
    if len(set(missing)) > 3:
        draw.text((width - 12, height - 16), f"(and {len(set(missing)) - 3} more not placed)", fill=(180, 0, 0),
                  font=font, anchor="rs")
    return image


def write_plot(path: Path, result: dict) -> Path:
    with atomic_path(path) as tmp:
        plot(result).save(tmp, format="PNG")
    return path


__all__ = ["HEADINGS", "shown", "markdown_table", "write_markdown", "write_csv", "short", "plot", "write_plot"]
