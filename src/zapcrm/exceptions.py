"""One typed error hierarchy, rendered by the app as `{"error": {"code", "message"}}`."""

from __future__ import annotations

from typing import Any, ClassVar


class ZapcrmError(Exception):
    """Base of every error zapcrm raises on purpose; carries its HTTP status and code."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self, message: str, *, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.details = details


class BadRequest(ZapcrmError):
    """The request is malformed."""

    status_code = 400
    code = "bad_request"


class ValidationFailed(ZapcrmError):
    """The request is well-formed but a field is invalid."""

    status_code = 422
    code = "validation_failed"

    @classmethod
    def on_field(cls, field: str, message: str) -> ValidationFailed:
        """The error of one field, whose message is also the request's."""
        return cls(message, fields=[{"field": field, "message": message}])


class Unauthorized(ZapcrmError):
    """No valid credentials were presented."""

    status_code = 401
    code = "unauthorized"


class InvalidToken(Unauthorized):
    """A bearer token is expired, forged, or otherwise unacceptable."""

    code = "invalid_token"


class InvalidCredentials(Unauthorized):
    """Wrong e-mail or password (deliberately not saying which)."""

    code = "invalid_credentials"


class Forbidden(ZapcrmError):
    """Authenticated, but the role does not allow this."""

    status_code = 403
    code = "forbidden"


class NotFound(ZapcrmError):
    """The thing does not exist, or the caller may not know it exists."""

    status_code = 404
    code = "not_found"


class Conflict(ZapcrmError):
    """The change collides with existing data."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(ZapcrmError):
    """The body exceeds the configured limit."""

    status_code = 413
    code = "payload_too_large"


class RateLimited(ZapcrmError):
    """Too many attempts; try again after `retry_after` seconds."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(ZapcrmError):
    """A dependency (Postgres, Redis, the auth server) did not answer; retrying may help."""

    status_code = 503
    code = "service_unavailable"
