"""Evolution's error bodies (§3.1) and the JSON-schema checks whose messages they carry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = [
    "EvolutionError",
    "SimulatorError",
    "bad_request",
    "forbidden_name",
    "instance_not_found",
    "internal_error",
    "raw_bad_request",
    "route_not_found",
    "unauthorized",
    "validate",
]

_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class SimulatorError(ValueError):
    """A control request the simulator cannot carry out (unknown customer, closed instance…)."""


class EvolutionError(Exception):
    """A response Evolution answers with instead of success; `body` is sent verbatim."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body


def _wrapped(status: int, message: Any) -> EvolutionError:
    body = {
        "status": status,
        "error": _PHRASES.get(status, "Error"),
        "response": {"message": message},
    }
    return EvolutionError(status, body)


def bad_request(*messages: Any) -> EvolutionError:
    """400 from a thrown BadRequestException: `response.message` is the list of its arguments."""
    return _wrapped(400, list(messages))


def raw_bad_request(*messages: Any) -> EvolutionError:
    """400 as `/chat/whatsappNumbers` sends it: the error object without `response` (§3.1)."""
    return EvolutionError(400, {"status": 400, "error": "Bad Request", "message": list(messages)})


def unauthorized() -> EvolutionError:
    """401: `response.message` is a plain string here (§3.1)."""
    return _wrapped(401, "Unauthorized")


def instance_not_found(name: str) -> EvolutionError:
    """404 for an unknown instance name (#1462)."""
    return _wrapped(404, [f'The "{name}" instance does not exist'])


def forbidden_name(name: str) -> EvolutionError:
    """403 when `/instance/create` gets a name already in use."""
    return _wrapped(403, [f'This name "{name}" is already in use.'])


def route_not_found(method: str, path: str) -> EvolutionError:
    """404 Express answers for an unknown route or a wrong method."""
    return _wrapped(404, [f"Cannot {method} {path}"])


def internal_error(message: Any, status: int = 500) -> EvolutionError:
    """5xx: a plain string for unhandled exceptions, a list for thrown 500s (§3.1)."""
    return _wrapped(status, message)


# JSON-schema subset with the messages of the `jsonschema` npm package, mapped the way
# Evolution's `dataValidate` does: a schema `description` wins, else the stack minus "instance.".
Schema = dict[str, Any]


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    checks: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "boolean": bool,
        "object": dict,
        "array": list,
    }
    return isinstance(value, checks[kind])


def _problems(value: Any, schema: Schema, path: str) -> Iterator[tuple[str, str | None]]:
    kind = schema.get("type")
    if kind is not None and not _type_ok(value, kind):
        yield f"{path} is not of a type(s) {kind}", schema.get("description")
        return
    if "enum" in schema and value not in schema["enum"]:
        values = ",".join(str(item) for item in schema["enum"])
        yield f"{path} is not one of enum values: {values}", schema.get("description")
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in value:
                continue
            yield from _problems(value[name], sub, f"{path}.{name}")
            if sub.get("notEmpty") and isinstance(value[name], str) and not value[name].strip():
                # isNotEmpty() in Evolution's schemas: minLength 1 with a description.
                yield (
                    f"{path}.{name} does not meet minimum length of 1",
                    f'The "{name}" cannot be empty',
                )
        for name in schema.get("required", []):
            if name not in value:
                yield f'{path} requires property "{name}"', None
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from _problems(item, schema["items"], f"{path}[{index}]")


def validate(body: Any, schema: Schema, *, raw: bool = False) -> None:
    """Raise the 400 Evolution gives for a body failing its schema (nested array, #2570)."""
    messages = [
        description or stack.replace("instance.", "", 1)
        for stack, description in _problems(body, schema, "instance")
    ]
    if messages:
        raise raw_bad_request(messages) if raw else bad_request(messages)
