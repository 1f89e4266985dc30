"""Provider settings that change how the router talks to an upstream: TLS verification and
the cap on concurrent requests."""

from __future__ import annotations

import datetime
import gc
import secrets
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import RouterProcess, make_tenant
from tests.loopback import ServerThread
from tests.upstream_scripted import ScriptedUpstream, build_app, start_scripted

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedUpstream]:
    state, server = start_scripted()
    yield state
    server.stop()


def self_signed(directory: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


class TlsServer(ServerThread):
    def __init__(self, app: web.Application, context: ssl.SSLContext) -> None:
        super().__init__(app)
        self.context = context

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


# asyncio leaves the server side of a refused TLS handshake unclosed; collected here (below),
# its ResourceWarning belongs to this test's test server, not to the router or a later test.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_tls_verify_switch(router: RouterProcess, tmp_path: Path) -> None:
    state = ScriptedUpstream()
    server = TlsServer(build_app(state), self_signed(tmp_path))
    url = server.start().replace("http://", "https://") + "/v1"
    try:
        name = "tls-" + secrets.token_hex(3)
        with router.admin() as admin:
            body = {"name": name, "base_url": url, "models": [{"name": "m"}]}
            created = admin.post("/providers", json=body)
            assert created.status_code == 201 and created.json()["tls_verify"] is True
        tenant = make_tenant(router)
        tenant.assistant("bot", model=f"{name}/m")
        with tenant.client() as client:
            with pytest.raises(openai.InternalServerError) as refused:
                client.chat.completions.create(model="bot", messages=USER)
            assert refused.value.status_code == 502
            with router.admin() as admin:
                before = admin.get(f"/providers/{name}").json()["health"]
                assert before["status"] == "cooldown"
                # Why is the operator's to see (the caller gets the router's own message).
                assert "certificate" in (before["last_error"] or "").lower()
                patched = admin.patch(f"/providers/{name}", json={"tls_verify": False})
                assert patched.json()["tls_verify"] is False
                assert patched.json()["health"]["status"] == "unknown", "new settings, fresh start"
            answer = client.chat.completions.create(model="bot", messages=USER)
        assert answer.choices[0].message.content == "ok from m"
    finally:
        server.stop()
        gc.collect()


def test_max_concurrent_queues_requests(router: RouterProcess, scripted: ScriptedUpstream) -> None:
    name = "cap-" + secrets.token_hex(3)
    model = "capped-" + secrets.token_hex(3)
    with router.admin() as admin:
        body = {"name": name, "base_url": scripted.url, "models": [{"name": model}]}
        assert admin.post("/providers", json={**body, "max_concurrent": 0}).status_code == 422
        created = admin.post("/providers", json={**body, "max_concurrent": 1})
        assert created.json()["max_concurrent"] == 1
    tenant = make_tenant(router)
    tenant.assistant("bot", model=f"{name}/{model}")
    scripted.plan(model, "slow", "slow")
    errors: list[BaseException] = []
    together = threading.Barrier(2)

    def one() -> None:
        try:
            with tenant.client() as client:
                together.wait(10)  # both requests leave at the same moment
                client.chat.completions.create(model="bot", messages=USER)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    first, second = scripted.times(model)[-2:]
    assert second - first >= 0.9, "the second request waited for the first connection"

    with router.admin() as admin:
        cleared = admin.patch(f"/providers/{name}", json={"max_concurrent": None})
        assert cleared.json()["max_concurrent"] is None
    scripted.plan(model, "slow", "slow")
    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    first, second = scripted.times(model)[-2:]
    # The upstream answers each 1 s after it arrives: the second arrived before that.
    assert second - first < 1.0, "no cap: the second starts before the first has finished"
