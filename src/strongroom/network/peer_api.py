"""The peer API: what one node answers another, over HTTP. Every request is authenticated
(:mod:`strongroom.network.auth`) and every answer signed; content goes only to nodes the signed configuration
assigns to hold that AU, so the peer channel never leaks a dark archive's content.

    GET  /peer/v1/objects                         objects this node holds, with head versions
    GET  /peer/v1/objects/{id}/file/{path}        a content file or version inventory (Range supported)
    POST /peer/v1/objects/{id}/vote               a vote: block hashes with the poller's and a fresh nonce
    POST /peer/v1/objects/{id}/receipt            a poll's outcome, telling a voter it disagreed
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import StorageError
from strongroom.network.auth import NONCE, RESPONSE_SIGNATURE, PeerRejected, sign_file_response, sign_response
from strongroom.network.ids import decode_id
from strongroom.network.voting import copy_hashes

if TYPE_CHECKING:
    from strongroom.node import Node

MAX_BODY = 64 * 1024


def create_peer_app(node: Node) -> FastAPI:
    app = FastAPI(title="Strongroom peer API", docs_url=None, redoc_url=None, openapi_url=None)
    key = node.private_key()

    def signed(
        request_nonce: str,
        body: bytes,
        status: int = 200,
        media: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Response:
        out = {RESPONSE_SIGNATURE: sign_response(key, request_nonce, body), **(headers or {})}
        return Response(body, status_code=status, media_type=media, headers=out)

    def problem(request: Request, status: int, detail: str) -> Response:
        body = json.dumps(
            {"type": "about:blank", "title": "peer request refused", "status": status, "detail": detail}
        ).encode()
        nonce = request.headers.get(NONCE, "")
        return signed(nonce, body, status, "application/problem+json")

    async def authenticate(request: Request) -> tuple[str, bytes]:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise PeerRejected(f"request body over {MAX_BODY} bytes", 413)
        raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
        node_id = node.verifier().verify(request.method, raw_path, request.headers, body)
        return node_id, body

    def guarded(handler: Callable[..., Response]) -> Callable[..., Any]:
        async def route(request: Request) -> Response:
            try:
                peer, body = await authenticate(request)
                return await run_in_threadpool(handler, request, peer, body)
            except PeerRejected as exc:
                return problem(request, exc.status, exc.message)
            except (StorageError, ValueError, KeyError) as exc:
                return problem(request, 404, str(exc))

        return route

    def holder_required(peer: str, object_id: str) -> None:
        if peer not in node.holders(object_id):
            raise PeerRejected(f"{peer} is not assigned to hold {object_id}", 403)

    def list_objects(request: Request, peer: str, body: bytes) -> Response:
        objects = [{"object_id": oid, "version": node.store.head_version(oid)} for oid in node.store.iter_object_ids()]
        return signed(request.headers[NONCE], json.dumps({"objects": objects}).encode())

    def get_file(request: Request, peer: str, body: bytes) -> Response:
        object_id = decode_id(request.path_params["oid"])
        holder_required(peer, object_id)
        relpath = unquote(request.path_params["path"])
        path = node.store.read_object_file(object_id, relpath)
        nonce = request.headers[NONCE]
        rng = request.headers.get("Range")
        if rng and rng.startswith("bytes="):  # a repair asks for one block: read just that
            start, _, end = rng[6:].partition("-")
            with path.open("rb") as fh:
                fh.seek(int(start))
                data = fh.read(max(0, int(end) + 1 - int(start)))
            return signed(nonce, data, media="application/octet-stream")
        if relpath.rsplit("/", 1)[-1].startswith("inventory.json"):
            return signed(nonce, path.read_bytes())  # inventories are the trust root: their bytes are signed
        size = path.stat().st_size
        return FileResponse(
            path,
            media_type="application/octet-stream",
            headers={RESPONSE_SIGNATURE: sign_file_response(key, nonce, relpath, size)},
        )

    last_vote: dict[tuple[str, str], float] = {}
    vote_lock = threading.Lock()

    def vote_allowed(peer: str, object_id: str) -> None:
        """Polls are rate-limited per peer: hashing a whole AU is the costliest thing a peer can ask for."""
        gap = node.network_config().policy.min_seconds_between_polls
        now = time.monotonic()
        with vote_lock:
            last = last_vote.get((peer, object_id))
            if last is not None and now - last < gap:
                raise PeerRejected(
                    f"{peer} polled {object_id} {now - last:.0f} s ago; at most one poll per {gap:.0f} s", 429
                )
            last_vote[(peer, object_id)] = now

    def vote(request: Request, peer: str, body: bytes) -> Response:
        object_id = decode_id(request.path_params["oid"])
        holder_required(peer, object_id)
        vote_allowed(peer, object_id)
        ask = json.loads(body)
        version = int(ask["version"])
        block_size = int(ask["block_size"])
        if not 1024 <= block_size <= 1 << 30:
            raise PeerRejected("block_size out of range", 400)
        if node.store.head_version(object_id) < version:
            raise PeerRejected(f"this node does not hold v{version} of {object_id} yet", 409)
        voter_nonce = secrets.token_bytes(16)
        hashes = copy_hashes(
            node.store, object_id, version, bytes.fromhex(ask["poller_nonce"]), {"me": voter_nonce}, block_size
        )["me"]
        blocks: dict[str, list[str | None]] = {}
        for (logical, index), h in sorted(hashes.items()):
            blocks.setdefault(logical, []).append(h)
            assert len(blocks[logical]) == index + 1
        node.record(
            EventType.POLL,
            EventOutcome.SUCCESS,
            object_id,
            f"voted in a poll called by {peer}",
            {"role": "voter", "poller": peer, "version": version},
        )
        return signed(request.headers[NONCE], json.dumps({"voter_nonce": voter_nonce.hex(), "blocks": blocks}).encode())

    def receipt(request: Request, peer: str, body: bytes) -> Response:
        object_id = decode_id(request.path_params["oid"])
        holder_required(peer, object_id)
        data = json.loads(body)
        if data.get("disagreed"):
            node.record(
                EventType.POLL,
                EventOutcome.WARNING,
                object_id,
                f"{peer}'s poll found this copy in the minority; it will be polled soon",
                {"role": "voter", "poller": peer, "blocks": data.get("blocks", [])[:100]},
            )
            node.poll_soon(object_id)
        return signed(request.headers[NONCE], b"{}")

    app.add_api_route("/peer/v1/objects", guarded(list_objects), methods=["GET"])
    app.add_api_route("/peer/v1/objects/{oid}/file/{path:path}", guarded(get_file), methods=["GET"])
    app.add_api_route("/peer/v1/objects/{oid}/vote", guarded(vote), methods=["POST"])
    app.add_api_route("/peer/v1/objects/{oid}/receipt", guarded(receipt), methods=["POST"])

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"node": node.settings.node_id, "status": "ok"})

    return app
