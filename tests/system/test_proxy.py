"""The shipped nginx configuration (deploy/nginx-medexempt.conf) in front of the real gunicorn
server: slow clients (slowloris headers, slow bodies) do not reach the workers, and the body limit
is applied before `100 Continue`. Loopback only, every loop bounded in count and time."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from medexempt.generated import Envelope, models, write_envelope
from medexempt.generated.gateway import request_message
from tests.e2e.service import PASSWORD, SENDER_ID
from tests.harness import free_port
from tests.support import ROOT

SHIPPED = ROOT / "deploy" / "nginx-medexempt.conf"


def _nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test the shipped proxy: nginx is not installed")
        pytest.skip("nginx is not installed (run scripts/test-services.sh)")
    return found


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    crt, pem = folder / "tls.crt", folder / "tls.key"
    crt.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt, pem


@pytest.fixture(scope="module")
def proxy(e2e_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx with the shipped server block, its upstream the e2e gunicorn, on a free TLS port."""
    nginx = _nginx()
    folder = tmp_path_factory.mktemp("nginx")
    crt, key = _certificate(folder)
    upstream = re.search(r"127\.0\.0\.1:(\d+)", e2e_url)
    assert upstream is not None
    port = free_port()
    site = SHIPPED.read_text(encoding="utf-8")
    site = site.replace("127.0.0.1:8080", f"127.0.0.1:{upstream[1]}")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = site.replace("/etc/medexempt/tls.crt", str(crt)).replace(
        "/etc/medexempt/tls.key", str(key)
    )
    (folder / "site.conf").write_text(site, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"{user}worker_processes 1;\nerror_log {folder}/error.log warn;\npid {folder}/nginx.pid;\n"
        "events { worker_connections 4096; }\n"
        f"http {{ access_log off; client_body_temp_path {folder}/body; "
        f"proxy_temp_path {folder}/proxy; include {folder}/site.conf; }}\n",
        encoding="utf-8",
    )
    check = subprocess.run(
        [nginx, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}/sync"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "?wsdl", verify=False, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _search_body() -> bytes:
    message = request_message(
        "EHEALTH_MEDICAL_EXEMPTION_SEARCH", models.MedicalExemptionSearchRequest(number="01085"),
        sender_id=SENDER_ID, password=PASSWORD,
    )  # fmt: skip
    return write_envelope(Envelope(body=message))


def _tls_socket(port: int, source: str = "127.0.0.1") -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    return context.wrap_socket(raw, server_hostname="localhost")


def _slow_clients(
    port: int, count: int, seconds: float, body: bool, stop: threading.Event, opened: list[int]
) -> None:
    """`count` connections, each sending a request a byte a second (headers, or a declared body)."""
    sockets: list[ssl.SSLSocket] = []
    for n in range(count):
        try:
            # From ten loopback addresses, each under the per-address connection limit, so that
            # every one of them reaches nginx (the legitimate client is 127.0.0.1).
            tls = _tls_socket(port, f"127.0.0.{2 + n % 10}")
        except OSError:
            continue
        head = "POST /sync HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
        if body:
            tls.sendall(f"{head}Content-Length: 100000\r\n\r\n".encode())
        else:
            tls.sendall(f"POST /sync HTTP/1.1\r\nHost: x{n}\r\n".encode())
        sockets.append(tls)
    opened.append(len(sockets))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        for tls in sockets:
            with contextlib.suppress(OSError):
                tls.sendall(b"a" if body else b"X")
        time.sleep(1.0)
    for tls in sockets:
        tls.close()


@pytest.mark.parametrize("body", [False, True], ids=["slow-headers", "slow-bodies"])
def test_slow_clients_do_not_reach_the_workers(proxy: str, body: bool) -> None:
    """300 sockets sending a byte a second for 8 s: a legitimate client's p99 stays under 1 s.
    Without the proxy, 6-8 of them stop the 2 workers x 4 threads."""
    port = int(proxy.split(":")[2].split("/")[0])
    stop = threading.Event()
    opened: list[int] = []
    attackers = threading.Thread(target=_slow_clients, args=(port, 300, 8.0, body, stop, opened))
    attackers.start()
    deadline = time.monotonic() + 20
    while not opened and time.monotonic() < deadline:
        time.sleep(0.1)
    assert opened and opened[0] >= 290, opened  # every slow socket is open and sending
    times = []
    request = _search_body()
    try:
        with httpx.Client(verify=False, timeout=10) as http:
            started_all = time.monotonic()
            while time.monotonic() - started_all < 5.0:
                started = time.perf_counter()
                answer = http.post(proxy, content=request, headers={"Content-Type": "text/xml"})
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text[:300]
    finally:
        stop.set()
        attackers.join(30)
    ordered = sorted(times)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    print(f"legitimate client behind nginx: {len(times)} searches, "
          f"p50 {statistics.median(times) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")  # fmt: skip
    assert len(times) >= 20 and p99 < 1.0, (len(times), statistics.median(times), p99)


def test_an_oversized_body_is_refused_before_100_continue(proxy: str) -> None:
    """`Expect: 100-continue` with a Content-Length over the limit: 413 at once, no `100 Continue`
    first (gunicorn alone sends 100 and only then refuses)."""
    port = int(proxy.split(":")[2].split("/")[0])
    tls = _tls_socket(port)
    try:
        tls.sendall(
            b"POST /sync HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n"
        )
        tls.settimeout(5)
        reply = tls.recv(4096).decode("latin-1")
    finally:
        tls.close()
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert "100 Continue" not in reply


def test_the_shipped_configuration_keeps_its_protections() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    for setting in ("client_header_timeout 10s", "client_body_timeout 10s",
                    "client_max_body_size 1m", "proxy_request_buffering on", "ssl_protocols",
                    "limit_conn medexempt_per_address"):  # fmt: skip
        assert setting in text
