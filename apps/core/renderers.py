"""orjson-backed JSON renderer and parser for DRF.

Hand-written rather than taken from drf-orjson-renderer because the API must keep emitting
byte-for-byte what DRF's own ``JSONRenderer`` emits (datetimes and decimals through DRF's
encoder, escaped U+2028/U+2029), which that package does not promise. Anything
orjson cannot encode natively goes through DRF's encoder, and indented output (the
``; indent=N`` media-type parameter) falls back to DRF's renderer.
"""

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


_default = JSONEncoder().default


class ORJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            ret = orjson.dumps(data, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            # Input orjson rejects where DRF's encoder may cope (ints past 64 bits…):
            # DRF decides, so both renderers fail or succeed on the same input.
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in ret or _PARAGRAPH_SEPARATOR in ret:
            ret = ret.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return ret


class ORJSONParser(JSONParser):
    renderer_class = ORJSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
