"""The web desk: FastAPI pages and API v1."""
