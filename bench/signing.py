"""Signatures side by side in one process: GOST 34.10-2015 (512) and RSA-2048, ours and gostcrypto.

    python -m bench.signing [--quick] [--out FILE.md] [--repeats N] [--min-time SECONDS]

Rows: the Streebog-512 hash over 1 MiB (ours: OpenSSL's GOST provider; gostcrypto's pure Python
over 64 KiB; SHA-256 for scale); a GOST signature and a verification of a digest (ours with gmpy2,
ours on Python's int, gostcrypto) beside RSA-2048 PKCS#1 v1.5 (cryptography); and whole WS-Security
requests of the reference service, signed and verified as the server does (the chain's link
verified once per certificate and then remembered: the "new signer" row is a certificate seen
for the first time).

Method: every contender's answer is checked before timing (a signature must verify, the hashes
must agree). Each is calibrated to a batch lasting at least --min-time; then --repeats rounds time
a batch of each, the order rotating from round to round so the machine's drift hits them alike.
A row gives the median and best per call, and the spread (interquartile range over the median).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import os
import platform
import sys
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gostcrypto
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from lxml import etree

from bench.stats import Samples
from medexempt.generated import gost
from medexempt.generated.certificates import TrustStore
from medexempt.generated.wssecurity import GostSigner, RsaSigner, SignatureVerifier
from tests.generated import test_signing as rsa_tests
from tests.gost_pki import gost_pki

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
STREEBOG = "ours (OpenSSL GOST provider), 1 MiB"
TARGETS = {"verify": 0.020, "sign": 0.020, "streebog MB/s": 20.0}


@dataclass(frozen=True)
class Row:
    group: str
    name: str
    run: Callable[[], object]
    bytes_per_call: int = 0


def _gostcrypto_curve() -> gostcrypto.gostsignature.GOST34102012:
    curves = gostcrypto.gostsignature.CURVES_R_1323565_1_024_2019
    return gostcrypto.gostsignature.new(
        gostcrypto.gostsignature.MODE_512, curves["id-tc26-gost-3410-12-512-paramSetA"]
    )


def _int_key(d: int) -> tuple[gost.GostPrivateKey, gost.GostPublicKey, gost.Curve]:
    """The same key on a copy of the curve whose arithmetic runs on Python's int (no gmpy2)."""
    curve = gost.Curve(
        "paramSetA on int", gost.PARAMSET_A_512.p, gost.PARAMSET_A_512.a,
        gost.PARAMSET_A_512.b, gost.PARAMSET_A_512.q, gost.PARAMSET_A_512.x,
        gost.PARAMSET_A_512.y,
    )  # fmt: skip
    saved = gost._Z
    gost._Z = int
    try:
        arithmetic = gost._Arithmetic(curve)
        arithmetic.table()
    finally:
        gost._Z = saved
    gost._arithmetics[curve] = arithmetic
    key = gost.GostPrivateKey(d, curve)
    return key, key.public_key, curve


def rows(quick: bool) -> list[Row]:
    pki = gost_pki()
    key = pki.sender.key
    public = key.public_key
    digest = gost.streebog512(b"a SignedInfo")
    signature = key.sign(digest)
    int_key, int_public, _ = _int_key(key.d)
    other = _gostcrypto_curve()
    be_key = bytearray(key.d.to_bytes(64, "big"))
    be_public = bytearray(public.to_bytes()[:64][::-1] + public.to_bytes()[64:][::-1])
    be_digest = bytearray(digest[::-1])
    be_signature = other.sign(be_key, be_digest)
    rsa = rsa_tests.pki().sender
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    rsa_signature = rsa.key.sign(b"a SignedInfo", pkcs1, sha256)
    rsa_public = rsa.certificate.public_key()
    assert isinstance(rsa_public, RSAPublicKey)
    data = os.urandom(MIB)
    small = data[: 64 * 1024]

    checks = [
        (public.verify(digest, signature), "our GOST signature verifies"),
        (int_public.verify(digest, int_key.sign(digest)), "the int path's signature verifies"),
        (other.verify(be_public, be_digest, be_signature), "gostcrypto's signature verifies"),
        (
            bytes(gostcrypto.gosthash.new("streebog512", data=small).digest())
            == gost.streebog512(small),
            "the two Streebogs agree",
        ),
    ]
    for ok, what in checks:
        if not ok:
            raise SystemExit(f"wrong answer: {what} failed")

    store = TrustStore([pki.ca.der, rsa_tests.pki().ca])
    verifier = SignatureVerifier(store)
    gost_signer = GostSigner(pki.sender.signing_key)
    gost_message = rsa_tests.request_bytes(gost_signer)  # type: ignore[arg-type]
    rsa_message = rsa_tests.request_bytes(rsa)
    for message in (gost_message, rsa_message):
        verifier.verify(etree.fromstring(message))

    def sign_message(signer: GostSigner | RsaSigner) -> Callable[[], object]:
        unsigned = rsa_tests.request_bytes()
        return lambda: signer.sign(etree.fromstring(unsigned))

    def verify_message(data: bytes, cold: bool = False) -> Callable[[], object]:
        def run() -> object:
            if cold:
                store._links.clear()
            return verifier.verify(etree.fromstring(data))

        return run

    sha = "for scale: SHA-256 (hashlib), 1 MiB"
    rsa_sign = "RSA-2048: cryptography"
    found = [
        Row("Streebog-512", STREEBOG, lambda: gost.streebog512(data), MIB),
        Row(
            "Streebog-512",
            "gostcrypto (pure Python), 64 KiB",
            lambda: gostcrypto.gosthash.new("streebog512", data=small).digest(),
            len(small),
        ),
        Row("Streebog-512", sha, lambda: hashlib.sha256(data).digest(), MIB),
        Row("sign", "GOST: ours (gmpy2)", lambda: key.sign(digest)),
        Row("sign", "GOST: ours on Python's int", lambda: int_key.sign(digest)),
        Row("sign", "GOST: gostcrypto", lambda: other.sign(be_key, be_digest)),
        Row("sign", rsa_sign, lambda: rsa.key.sign(b"a SignedInfo", pkcs1, sha256)),
        Row("verify", "GOST: ours (gmpy2)", lambda: public.verify(digest, signature)),
        Row("verify", "GOST: ours on Python's int", lambda: int_public.verify(digest, signature)),
        Row("verify", "GOST: gostcrypto", lambda: other.verify(be_public, be_digest, be_signature)),
        Row(
            "verify",
            rsa_sign,
            lambda: rsa_public.verify(rsa_signature, b"a SignedInfo", pkcs1, sha256),
        ),
        Row("message", "sign a request: GOST", sign_message(gost_signer)),
        Row("message", "sign a request: RSA (signxml)", sign_message(rsa)),
        Row("message", "verify a request: GOST", verify_message(gost_message)),
        Row(
            "message",
            "verify a request: GOST, new signer (chain too)",
            verify_message(gost_message, cold=True),
        ),
        Row("message", "verify a request: RSA", verify_message(rsa_message)),
    ]
    if quick:  # the pure-Python peer takes seconds a call: once is enough to check it runs
        found = [row for row in found if "gostcrypto" not in row.name or row.group == "verify"]
    return found


def measure(found: list[Row], repeats: int, min_time: float) -> dict[tuple[str, str], Samples]:
    numbers = {}
    for row in found:
        timer = timeit.Timer(row.run)
        number, elapsed = 1, timer.timeit(1)
        while elapsed < min_time and number < 10_000:
            number = max(number * 2, int(number * min_time / max(elapsed, 1e-9)))
            elapsed = timer.timeit(number)
        numbers[row.group, row.name] = number
    times: dict[tuple[str, str], list[float]] = {(row.group, row.name): [] for row in found}
    for round_index in range(repeats):
        shift = round_index % len(found)
        for row in found[shift:] + found[:shift]:
            number = numbers[row.group, row.name]
            times[row.group, row.name].append(timeit.Timer(row.run).timeit(number) / number)
    return {key: Samples(numbers[key], tuple(values)) for key, values in times.items()}


def _met(yes: bool) -> str:
    return "yes" if yes else "**no**"


def _time(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 1 else f"{seconds:.2f} s"


def report(found: list[Row], samples: dict[tuple[str, str], Samples], argv: Sequence[str]) -> str:
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("cryptography", "gmpy2", "gostcrypto", "signxml", "lxml")
    )
    lines = [
        "# Signatures: GOST 34.10-2015 (512) beside RSA-2048",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `python -m bench.signing {' '.join(argv)}`".rstrip(),
        f"- machine: {platform.platform()}; {os.cpu_count()} logical CPUs",
        f"- python: {platform.python_implementation()} {platform.python_version()}; {versions}",
        "- method: " + (__doc__ or "").split("Method: ", 1)[1].replace("\n", " ").strip(),
        "",
    ]
    for group in dict.fromkeys(row.group for row in found):
        members = [row for row in found if row.group == group]
        if group == "Streebog-512":
            lines += [
                f"## {group}",
                "",
                "| hash | MB/s (median) | best | spread |",
                "|---|--:|--:|--:|",
            ]
            for row in members:
                s = samples[row.group, row.name]
                lines.append(
                    f"| {row.name} | {row.bytes_per_call / s.median / 1e6:.1f} "
                    f"| {row.bytes_per_call / s.best / 1e6:.1f} | {s.spread:.0%} |"
                )
        else:
            base = next(row for row in members if "RSA" in row.name)
            lines += [f"## {group}", "", f"| contender | median | best | spread | / {base.name} |",
                      "|---|--:|--:|--:|--:|"]  # fmt: skip
            for row in members:
                s = samples[row.group, row.name]
                ratio = s.median / samples[base.group, base.name].median
                timed = f"{_time(s.median)} | {_time(s.best)} | {s.spread:.0%}"
                lines.append(f"| {row.name} | {timed} | {ratio:.2f}× |")
        lines.append("")
    hashed = samples["Streebog-512", STREEBOG]
    verify = samples["verify", "GOST: ours (gmpy2)"].median
    sign = samples["sign", "GOST: ours (gmpy2)"].median
    rate = MIB / hashed.median / 1e6
    lines += [
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|--:|:-:|",
        f"| GOST verify ≤ 20 ms median | {_time(verify)} | {_met(verify <= TARGETS['verify'])} |",
        f"| GOST sign ≤ 20 ms median | {_time(sign)} | {_met(sign <= TARGETS['sign'])} |",
        f"| Streebog-512 ≥ 20 MB/s | {rate:.1f} MB/s | {_met(rate >= TARGETS['streebog MB/s'])} |",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.signing", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="the smoke form (CI)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "signing.md")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--min-time", type=float, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 15)
    min_time = args.min_time if args.min_time is not None else (0.0 if args.quick else 0.2)
    found = rows(args.quick)
    samples = measure(found, repeats, min_time)
    text = report(found, samples, list(argv if argv is not None else sys.argv[1:]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
