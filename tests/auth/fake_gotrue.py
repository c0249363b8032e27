"""A stand-in for Supabase Auth (GoTrue) at the process boundary, for the Supabase provider tests.

It speaks the subset of GoTrue's REST API zapcrm calls (password and refresh-token grants,
logout, admin create/update user, the JWKS) and, like the real one, writes its users into the
same Postgres database's `auth.users`, so profiles can reference them.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import psycopg
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from jwt.algorithms import ECAlgorithm


@dataclass
class _User:
    id: uuid.UUID
    email: str
    password: str
    banned: bool = False


@dataclass
class FakeGoTrue:
    """State of the fake auth server; `base_url` is what SUPABASE_URL points at."""

    database_url: str
    anon_key: str = "anon-key-for-tests"
    service_key: str = "service-role-key-for-tests"
    base_url: str = ""
    users: dict[str, _User] = field(default_factory=dict)
    refresh_tokens: dict[str, uuid.UUID] = field(default_factory=dict)
    logouts: int = 0
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    kid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def _error(self, status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse(
            {"code": status, "error_code": code, "msg": message}, status_code=status
        )

    def _session(self, user: _User) -> dict[str, Any]:
        now = int(time.time())
        session_id = str(uuid.uuid4())
        claims = {
            "iss": f"{self.base_url}/auth/v1",
            "sub": str(user.id),
            "aud": "authenticated",
            "exp": now + 3600,
            "iat": now,
            "email": user.email,
            "phone": "",
            "role": "authenticated",
            "aal": "aal1",
            "session_id": session_id,
            "is_anonymous": False,
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {},
        }
        token = jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})
        refresh = secrets.token_hex(12)
        self.refresh_tokens[refresh] = user.id
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": 3600,
            "expires_at": now + 3600,
            "refresh_token": refresh,
            "user": {"id": str(user.id), "email": user.email, "aud": "authenticated"},
        }

    def app(self) -> FastAPI:
        """The HTTP surface."""
        api = FastAPI()

        @api.get("/auth/v1/.well-known/jwks.json")
        async def jwks() -> dict[str, Any]:
            public = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return {"keys": [{**public, "kid": self.kid, "alg": "ES256", "use": "sig"}]}

        @api.post("/auth/v1/token", response_model=None)
        async def token(
            request: Request, grant_type: str, apikey: str = Header("")
        ) -> dict[str, Any] | JSONResponse:
            if apikey != self.anon_key:
                return self._error(401, "no_authorization", "Invalid API key")
            body = await request.json()
            if grant_type == "password":
                user = self.users.get(str(body.get("email", "")).lower())
                if user is None or user.password != body.get("password"):
                    return self._error(400, "invalid_credentials", "Invalid login credentials")
                if user.banned:
                    return self._error(400, "user_banned", "User is banned")
                return self._session(user)
            user_id = self.refresh_tokens.pop(str(body.get("refresh_token", "")), None)
            user = next((u for u in self.users.values() if u.id == user_id), None)
            if user is None or user.banned:
                return self._error(400, "refresh_token_not_found", "Invalid Refresh Token")
            return self._session(user)

        @api.post("/auth/v1/logout", status_code=204)
        async def logout() -> None:
            self.logouts += 1

        def _is_service(authorization: str) -> bool:
            return authorization == f"Bearer {self.service_key}"

        @api.post("/auth/v1/admin/users", response_model=None)
        async def create_user(
            request: Request, authorization: str = Header("")
        ) -> dict[str, Any] | JSONResponse:
            if not _is_service(authorization):
                return self._error(401, "no_authorization", "This endpoint requires a Bearer token")
            body = await request.json()
            email = str(body["email"]).lower()
            if email in self.users:
                return self._error(
                    422,
                    "email_exists",
                    "A user with this email address has already been registered",
                )
            user = _User(id=uuid.uuid4(), email=email, password=body["password"])
            with psycopg.connect(self.database_url, autocommit=True) as connection:
                connection.execute(
                    "insert into auth.users (id, email, aud, role, raw_user_meta_data)"
                    " values (%s, %s, 'authenticated', 'authenticated', '{}')",
                    (user.id, email),
                )
            self.users[email] = user
            return {"id": str(user.id), "email": email, "aud": "authenticated"}

        @api.put("/auth/v1/admin/users/{user_id}", response_model=None)
        async def update_user(
            user_id: uuid.UUID, request: Request, authorization: str = Header("")
        ) -> dict[str, Any] | JSONResponse:
            if not _is_service(authorization):
                return self._error(401, "no_authorization", "This endpoint requires a Bearer token")
            body = await request.json()
            user = next((u for u in self.users.values() if u.id == user_id), None)
            if user is None:
                return self._error(404, "user_not_found", "User not found")
            if "ban_duration" in body:
                user.banned = body["ban_duration"] != "none"
            if "password" in body:
                user.password = str(body["password"])
            return {"id": str(user.id), "email": user.email}

        @api.delete("/auth/v1/admin/users/{user_id}")
        async def delete_user(user_id: uuid.UUID) -> dict[str, str]:
            for email, user in list(self.users.items()):
                if user.id == user_id:
                    del self.users[email]
            # As GoTrue does: the row goes from auth.users (profiles follow by foreign key).
            with psycopg.connect(self.database_url, autocommit=True) as connection:
                connection.execute("delete from auth.users where id = %s", (user_id,))
            return {}

        return api
