"""JSON answers written by orjson, with the values Flask's own provider writes.

Every API answer is serialised once, and the standard library's encoder costs several times
what orjson does. The values are Flask's: keys sorted, dates and datetimes as HTTP dates,
``Decimal`` and ``UUID`` as strings, dataclasses as objects, anything with ``__html__`` as its
text. Only the bytes differ: characters beyond ASCII are written as UTF-8, not escaped.
Whatever orjson would write differently or not at all (subclasses of the basic types, integers
beyond 64 bits, keys that are not strings, lone surrogates) goes to Flask's provider, which
answers or fails as it did before. Two differences remain, in values no answer holds: a NaN or
an infinity (the engine refuses them in data, ``workflow.schema``), which the standard library
writes as a bare ``NaN`` that is not JSON, is written as ``null``; and a plain ``Enum``, which
Flask's provider refuses, is written as its value.

Only ``jsonify`` answers change; ``dumps`` (the ``tojson`` filter, the session cookie) and
``loads`` (request bodies) stay Flask's.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)
"""Dates, dataclasses and subclasses of str, int, dict and list are handed to ``default``
(Flask's), so they come out as Flask writes them."""


class JSONProvider(DefaultJSONProvider):
    def response(self, *args: Any, **kwargs: Any) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)  # indented, for reading
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().response(*args, **kwargs)
        response_class: Any = self._app.response_class  # the app's, which takes bytes
        return response_class(body + b"\n", mimetype=self.mimetype)
