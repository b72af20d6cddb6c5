"""The peer API: what one node answers another, over HTTP. A face like the command line and the portal: it
authenticates every request and signs every answer (:mod:`strongroom.network.auth`), and leaves every decision to
the node's peer service (:class:`~strongroom.services.peer.PeerService`).

    GET  /peer/v1/objects                         objects this node holds, with head versions
    GET  /peer/v1/objects/{id}                    this node's entry for one object (404: not held here)
    GET  /peer/v1/objects/{id}/file/{path}        a content file or version inventory (Range: one byte range)
    POST /peer/v1/objects/{id}/vote               a vote: block hashes with the poller's and a fresh nonce
    POST /peer/v1/objects/{id}/receipt            a poll's outcome, telling a voter it disagreed

Every route authenticates first (a stranger or an unsigned caller gets the same refusal whatever it asks for), then
reads what the request names strictly, before anything is looked up: an object id that is not the one canonical
spelling of an id (:func:`~strongroom.network.ids.object_id_from_url`), a file path no object can have
(:func:`~strongroom.network.ids.content_path_from_url`), a Range header that is not one byte range
(:func:`~strongroom.network.ranges.parse_range`) or a body that is not a JSON object is a 400 naming the problem.
A range outside the file is a 416 with ``Content-Range: bytes */SIZE``; a range inside it a 206 with its bytes
signed, as an inventory's are. An object or file this node does not have (the store's error) is a 404, which a peer
reads as "not held"; a fault of this node's own is a signed 500, logged, so that no peer takes it for one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from strongroom.errors import StorageError
from strongroom.network.auth import NONCE, RESPONSE_SIGNATURE, PeerRejected, sign_file_response, sign_response
from strongroom.network.ids import content_path_from_url, object_id_from_url
from strongroom.network.ranges import ByteRange, parse_range
from strongroom.node import Node
from strongroom.services.peer import RangeNotSatisfiable

log = logging.getLogger("strongroom.peer")
MAX_BODY = 64 * 1024
CHUNK = 1 << 20
T = TypeVar("T")


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
                if isinstance(exc, RangeNotSatisfiable):  # RFC 9110 15.5.17: the size, to ask again within it
                    response.headers["Content-Range"] = f"bytes */{exc.size}"
                return response
            except StorageError as exc:  # no such object here, or no such file of it: what a peer reads as not held
                return problem(request, 404, str(exc))
            except (ValueError, KeyError, TypeError):
                # What the request names is read (400) and refused (PeerRejected) before this point: one of these is
                # this node's own fault (a bug, a damaged inventory), never an answer that it does not hold the object
                log.exception("peer request %s %s failed on this node", request.method, request.url.path)
                return problem(
                    request, 500, "this node failed to answer (an internal error, logged on it): ask another holder"
                )

        return route

    def list_objects(request: Request, peer: str, body: bytes) -> Response:
        return signed(request.headers[NONCE], json.dumps({"objects": peer_service.objects()}).encode())

    def malformed(read: Callable[[], T]) -> T:
        """What ``read`` makes of the request, or a 400 naming what is wrong with it."""
        try:
            return read()
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested past the parser's depth
            raise PeerRejected(str(exc), 400) from None

    def object_id_of(request: Request) -> str:
        return malformed(lambda: object_id_from_url(request.path_params["oid"]))

    def json_object(body: bytes) -> dict[str, Any]:
        data: Any = malformed(lambda: json.loads(body))  # not UTF-8 is a UnicodeDecodeError, a ValueError
        if not isinstance(data, dict):
            raise PeerRejected(f"the request body is a JSON {type(data).__name__}, not an object", 400)
        return data

    def byte_range(request: Request) -> ByteRange | None:
        asked = request.headers.getlist("Range")
        if len(asked) > 1:
            raise PeerRejected(f"{len(asked)} Range headers: ask for one range per request", 400)
        return malformed(lambda: parse_range(asked[0])) if asked else None

    def get_object(request: Request, peer: str, body: bytes) -> Response:
        # answers any member what the whole list would (``au status`` asks each member about one AU)
        object_id = object_id_of(request)
        return signed(request.headers[NONCE], json.dumps(peer_service.holding(object_id)).encode())

    def get_file(request: Request, peer: str, body: bytes) -> Response:
        object_id = object_id_of(request)
        # the path as the URL names it, percent-decoded once (by the server): the client quotes it once
        relpath = malformed(lambda: content_path_from_url(request.path_params["path"]))
        rng = byte_range(request)
        nonce = request.headers[NONCE]
        found = peer_service.file(peer, object_id, relpath, rng)
        if found.signed_body:  # inventories are the trust root, and a range is checked whole: their bytes are signed
            with found.stream as fh:
                data = fh.read(found.size + 1)
            if len(data) != found.size:
                raise StorageError(f"{relpath!r} of {object_id!r} changed while it was read")
            response = signed(nonce, data, media="application/octet-stream" if rng else "application/json")
            if found.byte_range is not None:
                first, last, size = found.byte_range
                response.status_code = 206
                response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
            return response
        return StreamingResponse(
            _chunks(found.stream),
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(found.size),
                RESPONSE_SIGNATURE: sign_file_response(key, nonce, relpath, found.size),
            },
        )

    def vote(request: Request, peer: str, body: bytes) -> Response:
        object_id = object_id_of(request)
        answer = peer_service.vote(peer, object_id, json_object(body))
        return signed(request.headers[NONCE], json.dumps(answer).encode())

    def receipt(request: Request, peer: str, body: bytes) -> Response:
        object_id = object_id_of(request)
        peer_service.receipt(peer, object_id, json_object(body))
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
