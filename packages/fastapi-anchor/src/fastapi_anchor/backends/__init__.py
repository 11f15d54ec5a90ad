"""Session backends of the fastapi-sessions-style API (the original README's)."""
