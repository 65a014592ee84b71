"""Maintainers' tools: the benchmark, the self-check (`doctor`) and the Hugging Face Space writer."""
