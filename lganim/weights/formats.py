"""The file formats every loader builds on: the one safe `torch.load` (weights only, on the CPU, optionally memory-
mapped) and lganim's own files (`<name>.safetensors` + a JSON config, written atomically).

NVIDIA's network pickles are `nvidia.py`; StyleGAN2 generator files (rosinality, NVIDIA, ours) are
`stylegan_files.py`; where files come from (download, cache, sha256) is `hub.py`.
"""
from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import LganimError
from ..files import publish, temp_beside

SAFETENSORS_SUFFIX = ".safetensors"


def load_torch(path: str | os.PathLike, what: str, *, mmap: bool = False, allowed: tuple = ()) -> object:
    """Read a PyTorch file safely: `weights_only=True`, on the CPU; `what` names the expected content in errors.

    mmap: map a zip-format file instead of reading it, so tensors that are never used (a training checkpoint's
    discriminator and optimiser, the 1.2 GB e4e file's decoder) stay on disk. allowed: extra classes a
    weights-only load may rebuild (e.g. argparse.Namespace). A file that is missing, unreadable or refuses safe
    loading is one LganimError.
    """
    path = existing_file(path)
    try:
        with torch.serialization.safe_globals(list(allowed)):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap and zipfile.is_zipfile(path))
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc):  # torch names the refused global; anything else is not a pickle
            raise LganimError(f"{path} is not a readable PyTorch checkpoint (malformed pickle): expected {what}; "
                              f"check that the download is complete") from exc
        raise LganimError(f"{path} refuses safe (weights_only) loading: the file may be unsafe or is not {what}; "
                          f"use a checkpoint that holds only tensors") from exc
    except Exception as exc:  # torch raises RuntimeError/EOFError/ValueError/... for non-checkpoints
        raise LganimError(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}): expected {what}; "
                          f"check that the download is complete") from exc




def _config_path(weights: Path) -> Path:
    # HF convention: model.safetensors + config.json; other names get <name>.config.json beside them.
    return weights.with_name("config.json" if weights.stem == "model" else f"{weights.stem}.config.json")


def save_safetensors(directory: str | os.PathLike, state_dict: dict[str, torch.Tensor], config: dict,
                     name: str = "model", *, beside: bool = True) -> Path:
    """Write `<name>.safetensors` (+ its config as JSON) into `directory` atomically; returns the weights path.

    Tensors are cloned to contiguous CPU copies first (safetensors refuses shared storage). The config
    is stored in the file's metadata, so a lone `.safetensors` file still carries it, and with `beside` also as
    `config.json` (`<name>.config.json` for other names). Each file is written to a temporary name and
    renamed, so a failure never leaves a partial file.
    """
    directory = Path(directory)
    if not isinstance(state_dict, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
        raise LganimError("save_safetensors needs a dict of str -> tensor")
    try:
        config_text = json.dumps(config, indent=2, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise LganimError(f"the config of {name} is not JSON-serialisable ({exc})") from exc
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{name}{SAFETENSORS_SUFFIX}"
    written: list[Path] = []
    try:
        tmp_weights = temp_beside(weights)
        written.append(tmp_weights)
        save_file(tensors, str(tmp_weights), metadata={"config": config_text, "format": "pt"})
        if beside:
            tmp_config = temp_beside(_config_path(weights))
            written.append(tmp_config)
            tmp_config.write_text(config_text + "\n", encoding="utf-8")
        publish(tmp_weights, weights)
        if beside:
            publish(tmp_config, _config_path(weights))
    except Exception as exc:  # OSError (disk full, permissions) or a safetensors refusal
        raise LganimError(f"could not write {weights} ({type(exc).__name__}: {exc})") from exc
    finally:
        for tmp in written:
            tmp.unlink(missing_ok=True)
    return weights


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """Read `(state_dict, config)` from a directory holding `model.safetensors` or from a `.safetensors` file.

    The config is the JSON file beside the weights (the one people read and edit), else the one stored in the
    file's metadata (a lone `.safetensors` file still carries it), else `{}`.
    """
    path = Path(path)
    weights = path / f"model{SAFETENSORS_SUFFIX}" if path.is_dir() else path
    weights = existing_file(weights)
    try:
        with safe_open(str(weights), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise LganimError(f"{weights} is not a readable safetensors weights file ({exc})") from exc
    try:
        if _config_path(weights).is_file():
            config = json.loads(_config_path(weights).read_text(encoding="utf-8"))
        elif "config" in metadata:
            config = json.loads(metadata["config"])
        else:
            config = {}
    except json.JSONDecodeError as exc:
        raise LganimError(f"the config of {weights} is not valid JSON ({exc})") from exc
    return state, config



def existing_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise LganimError(f"weight file not found: {path}")
    return path


__all__ = ["SAFETENSORS_SUFFIX", "load_torch", "save_safetensors", "read_safetensors", "existing_file"]
