"""Weight files: the registry of every public file (pure data), where a file comes from (placed by hand, the Hub,
the cache; sha256), which files a domain loads (the demo's built files or the registry's), the demo builder, and
the file formats read into `lganim.models` (safe `torch.load`, NVIDIA pickles, safetensors, motion checkpoints,
the encoders). Nothing is imported by this package's `__init__` (the CLI's `--help` reads the registry without
torch)."""
