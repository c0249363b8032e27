"""Token test fixtures: fresh signing keys and a real local HTTP server publishing a JWKS."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

JWKS_PATH = "/auth/v1/.well-known/jwks.json"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class SigningKey:
    """A private key with the kid and algorithm it signs under, and its public JWK."""

    private_key: PrivateKey
    kid: str
    alg: str

    @property
    def jwk(self) -> dict[str, Any]:
        """The public half as a JWKS entry, the way Supabase publishes it."""
        public = self.private_key.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            entry = ECAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, rsa.RSAPublicKey):
            entry = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            entry = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**entry, "kid": self.kid, "alg": self.alg, "use": "sig", "key_ops": ["verify"]}

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        """Sign `claims` with this key, under `kid` if given (to lie about the key id)."""
        return jwt.encode(
            claims, self.private_key, algorithm=self.alg, headers={"kid": kid or self.kid}
        )

    def rotated(self) -> SigningKey:
        """A new key of the same kind under a new kid, as after a key rotation."""
        private_key: PrivateKey
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            private_key = ec.generate_private_key(ec.SECP256R1())
        elif isinstance(self.private_key, rsa.RSAPrivateKey):
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private_key = ed25519.Ed25519PrivateKey.generate()
        return SigningKey(private_key, kid=str(uuid.uuid4()), alg=self.alg)


@dataclass(frozen=True)
class JwtKeys:
    """One signing key per algorithm a JWKS may use."""

    ec: SigningKey
    rsa: SigningKey
    ed: SigningKey

    @property
    def all(self) -> tuple[SigningKey, ...]:
        """Every key, in the order the JWKS server publishes them by default."""
        return (self.ec, self.rsa, self.ed)


@dataclass
class JwksServer:
    """A JWKS endpoint on 127.0.0.1 that counts its requests and can change what it serves."""

    base_url: str
    keys: list[Any]  # JWKS entries; anything JSON, to publish broken ones too
    status: int = 200
    raw_body: bytes | None = None  # served instead of the key set, to send a broken document
    delay_seconds: float = 0.0
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where the key set lives, at Supabase's path."""
        return self.base_url + JWKS_PATH

    def publish(self, *keys: SigningKey) -> None:
        """Serve exactly these keys from now on."""
        self.keys = [key.jwk for key in keys]

    def count_request(self) -> None:
        """Record one request (the handler runs on the server's threads)."""
        with self._lock:
            self.requests += 1

    def stop(self) -> None:
        """Close the listening socket, so the URL refuses connections."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler_for(state: JwksServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.count_request()
            if state.delay_seconds:
                # Holds the response so concurrent callers really overlap with the fetch.
                time.sleep(state.delay_seconds)
            if self.path != JWKS_PATH:
                self.send_error(404)
                return
            body = state.raw_body or json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture(scope="session")
def jwt_keys() -> JwtKeys:
    """Real EC P-256, RSA-2048 and Ed25519 keys, generated once per run."""
    return JwtKeys(
        ec=SigningKey(ec.generate_private_key(ec.SECP256R1()), kid="ec-key-1", alg="ES256"),
        rsa=SigningKey(
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            kid="rsa-key-1",
            alg="RS256",
        ),
        ed=SigningKey(ed25519.Ed25519PrivateKey.generate(), kid="ed-key-1", alg="EdDSA"),
    )


@pytest.fixture
def jwt_jwks_server(jwt_keys: JwtKeys) -> Iterator[JwksServer]:
    """A fresh JWKS server per test, publishing every key in `jwt_keys`."""
    state = JwksServer(base_url="", keys=[key.jwk for key in jwt_keys.all])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    state._server = server
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="jwks-server", daemon=True
    )
    thread.start()
    yield state
    state.stop()
    thread.join(timeout=5)


@pytest.fixture
async def jwt_http() -> AsyncIterator[httpx.AsyncClient]:
    """The async HTTP client the code under test fetches keys with."""
    # trust_env=False: a proxy in the environment must not sit between us and 127.0.0.1.
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client
