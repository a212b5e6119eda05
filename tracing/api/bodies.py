"""Reading request bodies under a size cap, and gzip with a bomb guard."""

import zlib

from django.conf import settings

from workbench.api.errors import error_json


class BodyError(Exception):
    """The body cannot be used; carries the status and message to answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self):
        return error_json(self.status, self.message)


def _too_large(limit):
    return BodyError(413, f"body: larger than the limit of {limit} bytes")


def read_capped(request, limit):
    """The raw body, refusing (413) anything over ``limit`` before parsing it.

    Reads the stream directly so Django's own upload cap does not apply.
    """
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        if int(declared) > limit:
            raise _too_large(limit)
    except ValueError as error:
        raise BodyError(400, "Content-Length: not a number") from error
    body = request.read(limit + 1)
    if len(body) > limit:
        raise _too_large(limit)
    return body


def gunzip_capped(data, limit):
    """Decompress gzip (possibly several members) without exceeding ``limit``."""
    parts, size = [], 0
    while data:
        decompressor = zlib.decompressobj(wbits=31)
        try:
            part = decompressor.decompress(data, limit - size + 1)
        except zlib.error as error:
            raise BodyError(
                400, "body: Content-Encoding is gzip but the body is not valid gzip"
            ) from error
        size += len(part)
        if size > limit:
            raise BodyError(413, f"body: decompresses to more than {limit} bytes")
        if not decompressor.eof:
            raise BodyError(400, "body: the gzip stream is truncated")
        parts.append(part)
        data = decompressor.unused_data
    return b"".join(parts)


def decoded_body(request, limit):
    """The body, gunzipped when it says ``Content-Encoding: gzip``.

    ``limit`` caps the body both as sent and as decompressed.
    """
    body = read_capped(request, limit)
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding == "gzip":
        return gunzip_capped(body, limit)
    if encoding in ("", "identity"):
        return body
    raise BodyError(415, f"Content-Encoding: {encoding!r} is not supported; use gzip")


def otel_body(request):
    """The decompressed body of an OTLP export."""
    return decoded_body(request, settings.OTEL_MAX_BODY_BYTES)
