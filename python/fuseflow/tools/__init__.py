"""Command-line tools: ``fuseflow-opt`` and helpers shared by the CLIs."""
