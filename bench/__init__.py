"""Load benchmark of FastAPI Anchor against baselines: `hatch run bench:run` (see run.py)."""
