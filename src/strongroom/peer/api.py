"""The peer API: what one node answers another, over HTTP. A face like the command line and the portal: it
authenticates every request and signs every answer (:mod:`strongroom.network.auth`), and leaves every decision to
the node's peer service (:class:`~strongroom.services.peer.PeerService`).

    GET  /peer/v1/objects                         objects this node holds, with head versions
    GET  /peer/v1/objects/{id}                    this node's entry for one object (404: not held here)
    GET  /peer/v1/objects/{id}/file/{path}        a content file or version inventory (Range supported)
    POST /peer/v1/objects/{id}/vote               a vote: block hashes with the poller's and a fresh nonce
    POST /peer/v1/objects/{id}/receipt            a poll's outcome, telling a voter it disagreed
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from strongroom.errors import StorageError
from strongroom.network.auth import NONCE, RESPONSE_SIGNATURE, PeerRejected, sign_file_response, sign_response
from strongroom.network.ids import decode_id, object_id_from_url
from strongroom.node import Node

MAX_BODY = 64 * 1024
CHUNK = 1 << 20


def _chunks(stream: Any) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def create_peer_app(node: Node) -> FastAPI:
    app = FastAPI(title="Strongroom peer API", docs_url=None, redoc_url=None, openapi_url=None)
    key = node.membership.private_key()
    peer_service = node.peer

    def signed(
        request_nonce: str,
        body: bytes,
        status: int = 200,
        media: str = "application/json",
    ) -> Response:
        return Response(
            body,
            status_code=status,
            media_type=media,
            headers={RESPONSE_SIGNATURE: sign_response(key, request_nonce, body)},
        )

    def problem(request: Request, status: int, detail: str) -> Response:
        body = json.dumps(
            {"type": "about:blank", "title": "peer request refused", "status": status, "detail": detail}
        ).encode()
        nonce = request.headers.get(NONCE, "")
        response = signed(nonce, body, status, "application/problem+json")
        # a refused request's body may be unread: closing the connection stops the sender, rather than reading
        # the rest of it only to throw it away
        response.headers["Connection"] = "close"
        return response

    async def authenticate(request: Request) -> tuple[str, bytes]:
        # Headers first: no byte of the body is read from a sender that is not a member, names another recipient,
        # or whose clock is off; then at most MAX_BODY bytes of it, in the chunks they arrive in.
        peer_service.precheck(request.headers)
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise PeerRejected("malformed Content-Length", 400)
            if int(declared) > MAX_BODY:
                raise PeerRejected(f"request body of {declared} bytes; at most {MAX_BODY} accepted", 413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise PeerRejected(f"request body over {MAX_BODY} bytes", 413)
        raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
        # the signature check may write the nonce to disk (fsync): off the event loop
        node_id = await run_in_threadpool(
            peer_service.authenticate, request.method, raw_path, request.headers, bytes(body)
        )
        return node_id, bytes(body)

    def guarded(handler: Callable[..., Response]) -> Callable[..., Any]:
        async def route(request: Request) -> Response:
            try:
                peer, body = await authenticate(request)
                return await run_in_threadpool(handler, request, peer, body)
            except PeerRejected as exc:
                response = problem(request, exc.status, exc.message)
                if (retry := getattr(exc, "retry_after", None)) is not None:  # 429 and 503: when to ask again
                    response.headers["Retry-After"] = str(retry)
                return response
            except (StorageError, ValueError, KeyError, TypeError) as exc:
                return problem(request, 404, str(exc))

        return route

    def list_objects(request: Request, peer: str, body: bytes) -> Response:
        return signed(request.headers[NONCE], json.dumps({"objects": peer_service.objects()}).encode())

    def get_object(request: Request, peer: str, body: bytes) -> Response:
        # answers any member what the whole list would (``au status`` asks each member about one AU)
        try:
            object_id = object_id_from_url(request.path_params["oid"])
        except ValueError as exc:
            raise PeerRejected(str(exc), 400) from None
        return signed(request.headers[NONCE], json.dumps(peer_service.holding(object_id)).encode())

    def get_file(request: Request, peer: str, body: bytes) -> Response:
        object_id = decode_id(request.path_params["oid"])
        relpath = unquote(request.path_params["path"])
        nonce = request.headers[NONCE]
        rng = request.headers.get("Range")
        if rng and rng.startswith("bytes="):  # a repair asks for one block: read just that
            start, _, end = rng[6:].partition("-")
            found = peer_service.file(peer, object_id, relpath, (int(start), int(end)))
            with found.stream as fh:
                return signed(nonce, fh.read(), media="application/octet-stream")
        found = peer_service.file(peer, object_id, relpath)
        if found.signed_body:
            with found.stream as fh:
                return signed(nonce, fh.read())  # inventories are the trust root: their bytes are signed
        return StreamingResponse(
            _chunks(found.stream),
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(found.size),
                RESPONSE_SIGNATURE: sign_file_response(key, nonce, relpath, found.size),
            },
        )

    def vote(request: Request, peer: str, body: bytes) -> Response:
        object_id = decode_id(request.path_params["oid"])
        answer = peer_service.vote(peer, object_id, json.loads(body))
        return signed(request.headers[NONCE], json.dumps(answer).encode())

    def receipt(request: Request, peer: str, body: bytes) -> Response:
        object_id = decode_id(request.path_params["oid"])
        peer_service.receipt(peer, object_id, json.loads(body))
        return signed(request.headers[NONCE], b"{}")

    app.add_api_route("/peer/v1/objects", guarded(list_objects), methods=["GET"])
    app.add_api_route("/peer/v1/objects/{oid}", guarded(get_object), methods=["GET"])
    app.add_api_route("/peer/v1/objects/{oid}/file/{path:path}", guarded(get_file), methods=["GET"])
    app.add_api_route("/peer/v1/objects/{oid}/vote", guarded(vote), methods=["POST"])
    app.add_api_route("/peer/v1/objects/{oid}/receipt", guarded(receipt), methods=["POST"])

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"node": node.settings.node_id, "status": "ok"})

    return app
