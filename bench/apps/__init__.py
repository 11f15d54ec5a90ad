"""One small FastAPI app per benchmark scenario, each serving `GET /me` (see `bench.scenarios`)."""
