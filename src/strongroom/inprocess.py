"""An in-process HTTP client for our ASGI apps (the static export, the demo, the in-memory network): Starlette's
TestClient, imported without its notice that it would rather use the httpx2 package (it works the same)."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]
