"""A set's evaluation for people and programs: the table per prompt, the CSV per clip, the plot per prompt."""
import csv

import numpy as np
from PIL import Image

from lganim.sets.evaluate import CLIP_MEASURES, PROMPT_MEASURES
from lganim.sets.report import COLOURS, PLOT_SIZE, markdown_table, plot, short, write_csv, write_markdown, write_plot

SMILING, ANGRY = "The person is smiling.", "The person is angry."


def measures(base: float, identity: float | None = 0.95) -> dict:
    """One prompt's figures: every measure `base` (identity `identity`; None: with its reason)."""
    values = {name: base for name in PROMPT_MEASURES}
    values["identity"] = identity
    if identity is None:
        values["identity_why"] = "dlib found no face in the first frame"
    return {**values, "clips": 2}


def clip(row_id: str, prompt: str, base: float) -> dict:
    return {"id": row_id, "prompt": prompt, "domain": "demo", "rank": 1, "frames": 8,
            **{name: base for name in CLIP_MEASURES}, "identity": None, "identity_why": "no face"}


def a_comparison() -> dict:
    a = {"set": "runs/a", "prompts": {SMILING: measures(0.1), ANGRY: measures(0.2, identity=None)},
         "clips": [clip("s1", SMILING, 0.1)]}
    b = {"set": "runs/b", "prompts": {SMILING: measures(0.4)}, "clips": [clip("t1", SMILING, 0.4)]}
    return {**a, "compare": {**b, "delta": {SMILING: {"clip_score": 0.3}}}}


def test_the_table_has_a_row_per_prompt_and_set_and_says_why_a_figure_is_missing():
    table = markdown_table(a_comparison()).splitlines()
    assert table[0].startswith("| prompt | set | clips | CLIP score |")
    assert table[0].count("|") == len(PROMPT_MEASURES) + 4
    rows = [line for line in table[2:] if line.startswith("| The")]
    assert [r.split(" | ")[:2] for r in rows] == [["| " + SMILING, "A"], ["| " + SMILING, "B"], ["| " + ANGRY, "A"]]
    assert "| 0.95 |" in rows[0] and "| — |" in rows[2]                     # null as —, with the reason below
    assert "- identity (dlib): dlib found no face in the first frame" in table
    assert "A: runs/a" in table and "B: runs/b" in table
    alone = markdown_table({"set": "runs/a", "prompts": {"a | b": measures(0.5)}, "clips": []}).splitlines()
    assert "set" not in alone[0] and alone[2].startswith("| a \\| b | 2 | 0.5 |")   # a | in a prompt is escaped


def test_the_csv_has_a_line_per_clip_of_both_sets(tmp_path):
    path = write_csv(tmp_path / "r.csv", a_comparison())
    lines = list(csv.reader(path.open(encoding="utf-8")))
    assert lines[0] == ["set", "id", "prompt", "domain", "rank", "frames", *CLIP_MEASURES, "why"]
    assert [line[:2] for line in lines[1:]] == [["runs/a", "s1"], ["runs/b", "t1"]]
    assert lines[1][6] == "0.1" and lines[1][6 + CLIP_MEASURES.index("identity")] == ""
    assert lines[1][-1] == "identity: no face"
    assert write_markdown(tmp_path / "r.md", a_comparison()).read_text(encoding="utf-8") == \
        markdown_table(a_comparison())


def test_the_plot_places_each_set_s_prompts_in_its_colour(tmp_path):
    image = np.asarray(plot(a_comparison()))
    assert image.shape == (PLOT_SIZE[1], PLOT_SIZE[0], 3)
    for colour in COLOURS:                                   # A's smiling and B's smiling are drawn
        assert (image == colour).all(axis=2).sum() > 20
    only_a = np.asarray(plot({k: v for k, v in a_comparison().items() if k != "compare"}))
    assert (only_a == COLOURS[0]).all(axis=2).any() and not (only_a == COLOURS[1]).all(axis=2).any()
    assert Image.open(write_plot(tmp_path / "r.png", a_comparison())).size == PLOT_SIZE
    assert short(SMILING) == "smiling" and short("Smile wide") == "Smile wide"
