"""Sets: many clips at once — a manifest of faces × motions (manifest.py), each process's share of it
(partition.py), the folder of results that a rerun resumes (results.py), rendering it on one process or across
torchrun's (render.py), and the paper's measures per clip and per prompt (evaluate.py, report.py). docs/sets.md.
"""
