"""An in-memory transport: peers' apps called directly by host name, no sockets. For fast unit tests of the
protocol logic; integration tests use real HTTP between real processes."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from strongroom.inprocess import TestClient


class InMemoryNetwork(httpx.BaseTransport):
    """Routes each request to the app registered for its URL's host (``http://<host>``)."""

    def __init__(self) -> None:
        self.apps: dict[str, TestClient] = {}
        self.down: set[str] = set()

    def add(self, host: str, app: FastAPI) -> str:
        self.apps[host] = TestClient(app, base_url=f"http://{host}")
        return f"http://{host}"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"{host} is down", request=request)
        response = self.apps[host].request(
            request.method,
            request.url.raw_path.decode("ascii"),
            headers=dict(request.headers),
            content=request.read(),
        )
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)
