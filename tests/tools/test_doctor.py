"""`python -m lganim doctor`: offline (conftest: HF_HUB_OFFLINE=1, empty caches) the demo domain passes and a real
domain names every missing file and how to get it; the report says whether the offline setting or an unreachable
Hub kept the files away."""
import json

from lganim.cli import main
from lganim.weights.registry import CLIP_FILES, DOMAINS, E4E_FFHQ


def test_demo_passes_offline(tmp_path, capsys):
    out = tmp_path / "d.json"
    assert main(["doctor", "--domain", "demo", "--json", str(out), "--fit-steps", "3"]) == 0
    report = json.loads(out.read_text())
    assert report["ok"] is True
    assert {f["status"] for f in report["files"]} == {"built"}
    steps = report["domains"]["demo"]["steps"]
    assert len(steps) == 6 and all(s["ok"] and s["seconds"] >= 0 for s in steps)
    assert report["domains"]["demo"]["fit"]["steps"] == 3
    assert isinstance(report["fit_improved"]["demo"], bool)           # reported, whatever it says on random weights
    assert report["domains"]["demo"]["control_directions"].startswith("built on first use")
    env = report["environment"]
    assert env["torch"] and env["device"] == "cpu" and env["device_line"].startswith("device: cpu")
    assert "ok: every file is present" in capsys.readouterr().out


def test_a_real_domain_offline_names_what_is_missing(tmp_path, capsys, weights_dir):
    out = tmp_path / "h.json"
    assert main(["doctor", "--domain", "human", "--json", str(out)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: not ready") and "HF_HUB_OFFLINE is set" in err[0]
    report = json.loads(out.read_text())
    assert report["ok"] is False and report["domains"]["human"]["skipped"]
    assert report["hub"] == {"state": "offline", "reason": "HF_HUB_OFFLINE is set, so nothing is downloaded"}
    assert "hub: offline: HF_HUB_OFFLINE is set" in captured.out
    assert "python -m lganim calibrate --domain human" in report["domains"]["human"]["control_directions"]
    files = {(f["repo_id"], f["filename"]): f for f in report["files"]}
    generator = files[("wmpscc/StyleGene", "stylegan2-ffhq-config-f.pt")]
    assert generator["sha256"] == DOMAINS["human"].weights.sha256 == (
        "d0d7c5e71531c816b8cf01037393ee4fb65ed09dcb6434cc0197771e3051199b")
    assert generator["revision"] == "e301280ac9a63ba7ebb4be3311128bb6c9cb9ae2" and generator["size"] == 132_729_083
    assert (E4E_FFHQ.repo_id, "e4e_ffhq_encode.pt") in files
    for name in ("RN50", "ViT-B/32"):
        clip = files[(CLIP_FILES[name][0].repo_id, "open_clip_model.safetensors")]
        assert clip["sha256"] is None and clip["status"] == "missing"       # no public sha256: null, not a guess
        assert str(weights_dir / CLIP_FILES[name][0].basename) in clip["fix"]
    for f in report["files"]:
        assert {"repo_id", "filename", "revision", "sha256", "size", "status"} <= set(f)


def test_a_real_domain_with_the_hub_unreachable_asks_it_once(tmp_path, capsys, weights_dir, fake_hub):
    out = tmp_path / "h.json"
    assert main(["doctor", "--domain", "human", "--json", str(out)]) == 2
    captured = capsys.readouterr()
    report = json.loads(out.read_text())
    assert report["ok"] is False and report["hub"]["state"] == "unreachable"
    assert report["hub"]["reason"] == "the Hugging Face Hub cannot be reached (ConnectError)"
    assert "hub: unreachable: the Hugging Face Hub cannot be reached" in captured.out
    assert "the Hugging Face Hub cannot be reached" in captured.err
    missing = [f for f in report["files"] if f["status"] == "missing"]
    assert len(missing) == 4 and all("cannot be reached" in f["fix"] for f in missing)
    assert len(fake_hub.requests) == 1 and fake_hub.sleeps == []          # one probe; today 7 requests a file


def test_a_wrong_file_placed_by_hand_is_reported_corrupt(tmp_path, weights_dir):
    (weights_dir / "stylegan2-ffhq-config-f.pt").write_bytes(b"not the generator")
    out = tmp_path / "h.json"
    assert main(["doctor", "--domain", "human", "--no-download", "--json", str(out)]) == 2
    files = {f["filename"]: f for f in json.loads(out.read_text())["files"]}
    assert files["stylegan2-ffhq-config-f.pt"]["status"] == "corrupt"
    assert "download it again" in files["stylegan2-ffhq-config-f.pt"]["fix"]
