"""GOST R 34.10-2012 (512-bit) signatures and the GOST R 34.11-2012 "Streebog" hash, as НУЦ РК uses them.

Kazakhstan's national CA issues GOST 34.10-2015 keys, which are GOST R 34.10-2012 on the curve
id-tc26-gost-3410-12-512-paramSetA, hashed with Streebog-512 (GOST 34.11-2015). Its SDK writes
every number little-endian: the public key is x‖y, the signature r‖s, each 64 bytes least
significant first, and the digest is read as a little-endian number before it is signed. That is
the layout `GostPublicKey.verify` and `GostPrivateKey.sign` take and give.

Streebog comes from OpenSSL's GOST provider (Debian and Ubuntu: `libengine-gost-openssl`; Fedora
`openssl-gost-engine`), loaded into a library context of its own so nothing else in the process is
affected; without it `GostUnavailableError` says what to install. The curve arithmetic is Python's
integers in Jacobian coordinates, with a table of the base point's multiples made once per process.
It is not constant-time: a signer's timing depends on its nonce (see docs/how-to/sign-messages.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

__all__ = [
    "PARAMSET_A_512",
    "Curve",
    "GostPrivateKey",
    "GostPublicKey",
    "GostUnavailableError",
    "streebog512",
]


class GostUnavailableError(RuntimeError):
    """The GOST hash cannot be computed here: OpenSSL 3 or its GOST provider is missing."""


# --- Streebog-512 through OpenSSL's GOST provider -----------------------------------------------


class _OpenSsl:
    """libcrypto with the GOST provider loaded into a private OSSL_LIB_CTX, and Streebog-512 fetched."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("crypto") or "libcrypto.so.3"
        try:
            lib = ctypes.CDLL(name)
            new_context = lib.OSSL_LIB_CTX_new
        except (OSError, AttributeError):
            raise GostUnavailableError(
                f"GOST signatures need OpenSSL 3's libcrypto ({name} could not be loaded)"
            ) from None
        new_context.restype = ctypes.c_void_p
        lib.OSSL_PROVIDER_load.restype = ctypes.c_void_p
        lib.OSSL_PROVIDER_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.EVP_MD_fetch.restype = ctypes.c_void_p
        lib.EVP_MD_fetch.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.EVP_Digest.restype = ctypes.c_int
        lib.EVP_Digest.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        context = new_context()
        if not context or not lib.OSSL_PROVIDER_load(context, b"gostprov"):
            raise GostUnavailableError(
                "GOST signatures need OpenSSL's GOST provider (gostprov): install "
                "libengine-gost-openssl (Debian, Ubuntu) or openssl-gost-engine (Fedora), or set "
                "OPENSSL_MODULES to the folder that holds gostprov.so"
            )
        self.md = lib.EVP_MD_fetch(context, b"md_gost12_512", None)
        if not self.md:
            raise GostUnavailableError(
                "OpenSSL's GOST provider offers no md_gost12_512 (Streebog-512)"
            )
        self.lib = lib
        self.context = context

    def digest(self, data: bytes) -> bytes:
        out = ctypes.create_string_buffer(64)
        size = ctypes.c_uint(0)
        if not self.lib.EVP_Digest(data, len(data), out, ctypes.byref(size), self.md, None):
            raise GostUnavailableError("OpenSSL failed to compute Streebog-512")
        return out.raw[: size.value]


_openssl: _OpenSsl | None = None
_openssl_lock = threading.Lock()


def streebog512(data: bytes) -> bytes:
    """The Streebog-512 (GOST R 34.11-2012) hash of `data`, as the bytes come out of the hash."""
    global _openssl
    if _openssl is None:
        with _openssl_lock:
            if _openssl is None:
                _openssl = _OpenSsl()
    return _openssl.digest(bytes(data))


# --- The curve --------------------------------------------------------------------------------

_Point = tuple[int, int, int]  # Jacobian (X, Y, Z): x = X/Z², y = Y/Z³; Z = 0 is the infinity
_INFINITY: _Point = (1, 1, 0)


def _integer_type() -> Callable[[int], int]:
    """gmpy2's mpz when it is installed (GMP's arithmetic, about 3.5× faster here), else int."""
    try:
        module = importlib.import_module("gmpy2")
    except ImportError:
        return int
    return cast(Callable[[int], int], module.mpz)


_Z = _integer_type()


@dataclass(frozen=True)
class Curve:
    """A short Weierstrass curve y² = x³ + ax + b over GF(p), its base point (x, y) of prime order q."""

    name: str
    p: int
    a: int
    b: int
    q: int
    x: int
    y: int
    size: int = field(default=64)  # bytes of a coordinate, a scalar and each half of a signature

    def contains(self, x: int, y: int) -> bool:
        """Whether (x, y) is a point of the curve (affine coordinates in range)."""
        p = self.p
        return 0 <= x < p and 0 <= y < p and (y * y - x * x * x - self.a * x - self.b) % p == 0


PARAMSET_A_512 = Curve(
    name="id-tc26-gost-3410-12-512-paramSetA",
    p=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7,
    a=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC4,
    b=0xE8C2505DEDFC86DDC1BD0B2B6667F1DA34B82574761CB0E879BD081CFD0B6265EE3CB090F30D27614CB4574010DA90DD862EF9D4EBEE4761503190785A71C760,
    q=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF27E69532F48D89116FF22B8D4E0560609B4B38ABFAD2B85DCACDB1411F10B275,
    x=3,
    y=0x7503CFE87A836AE3A61B8816E25450E6CE5E1C93ACF1ABC1778064FDCBEFA921DF1626BE4FD036E93D75E6A50E3A41E98028FE5FC235F5B889A589CB5215F2A4,
)


class _Arithmetic:
    """The point arithmetic of one curve, its numbers as `_Z`, and its base point's table."""

    def __init__(self, curve: Curve) -> None:
        self.p = _Z(curve.p)
        self.a = _Z(curve.a)
        self.minus_3 = curve.a == curve.p - 3
        self.q = curve.q
        self.base: _Point = (_Z(curve.x), _Z(curve.y), _Z(1))
        self._table: tuple[tuple[_Point, ...], ...] | None = None
        self._lock = threading.Lock()

    def double(self, point: _Point) -> _Point:
        x1, y1, z1 = point
        if not z1 or not y1:
            return _INFINITY
        p = self.p
        delta = z1 * z1 % p
        gamma = y1 * y1 % p
        beta = x1 * gamma % p
        if self.minus_3:  # 3x² + az⁴ = 3(x - z²)(x + z²) when a = -3
            alpha = 3 * (x1 - delta) * (x1 + delta) % p
        else:
            alpha = (3 * x1 * x1 + self.a * delta * delta) % p
        x3 = (alpha * alpha - 8 * beta) % p
        z3 = ((y1 + z1) * (y1 + z1) - gamma - delta) % p
        y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % p
        return x3, y3, z3

    def add(self, one: _Point, other: _Point) -> _Point:
        x1, y1, z1 = one
        x2, y2, z2 = other
        if not z1:
            return other
        if not z2:
            return one
        p = self.p
        z1z1 = z1 * z1 % p
        if z2 == 1:  # an affine point from a table: the cheaper mixed addition
            u1, s1 = x1, y1
        else:
            z2z2 = z2 * z2 % p
            u1 = x1 * z2z2 % p
            s1 = y1 * z2 * z2z2 % p
        h = (x2 * z1z1 - u1) % p
        r = (y2 * z1 * z1z1 - s1) % p
        if not h:
            return self.double(one) if not r else _INFINITY
        hh = h * h % p
        hhh = h * hh % p
        v = u1 * hh % p
        x3 = (r * r - hhh - 2 * v) % p
        y3 = (r * (v - x3) - s1 * hhh) % p
        z3 = h * z1 % p if z2 == 1 else h * z1 * z2 % p
        return x3, y3, z3

    def affine(self, point: _Point) -> tuple[int, int] | None:
        x, y, z = point
        if not z:
            return None
        p = self.p
        inverse = pow(z, -1, p)
        inverse2 = inverse * inverse % p
        return int(x * inverse2 % p), int(y * inverse2 * inverse % p)

    def normalised(self, points: list[_Point]) -> list[_Point]:
        """The points with Z = 1 (none may be the infinity), by one inversion (Montgomery's trick)."""
        p = self.p
        prefix = [_Z(1)]
        for _, _, z in points:
            prefix.append(prefix[-1] * z % p)
        inverse = pow(prefix[-1], -1, p)
        out: list[_Point] = [_INFINITY] * len(points)
        for i in range(len(points) - 1, -1, -1):
            x, y, z = points[i]
            zi = inverse * prefix[i] % p
            inverse = inverse * z % p
            zi2 = zi * zi % p
            out[i] = (x * zi2 % p, y * zi2 * zi % p, _Z(1))
        return out

    def multiples(self, point: _Point) -> list[_Point]:
        """1·P .. 15·P, affine."""
        row = [point]
        for _ in range(2, 1 << _WINDOW):
            row.append(self.add(row[-1], point))
        return self.normalised(row)

    def table(self) -> tuple[tuple[_Point, ...], ...]:
        """For every 4-bit digit position i of a scalar: d·16^i·G for d = 1..15 (made once)."""
        if self._table is None:
            with self._lock:
                if self._table is None:
                    rows: list[tuple[_Point, ...]] = []
                    base = self.base
                    for _ in range((self.q.bit_length() + _WINDOW - 1) // _WINDOW):
                        row = self.multiples(base)
                        rows.append(tuple(row))
                        base = self.normalised([self.add(row[-1], row[0])])[0]  # 16·base
                    self._table = tuple(rows)
        return self._table

    def base_multiple(self, k: int) -> _Point:
        """k·G from the fixed-base table: one mixed addition per nonzero digit, no doubling."""
        point = _INFINITY
        for row in self.table():
            digit = k & ((1 << _WINDOW) - 1)
            if digit:
                point = self.add(point, row[digit - 1])
            k >>= _WINDOW
            if not k:
                break
        return point

    def multiple(self, k: int, x: int, y: int) -> _Point:
        """k·(x, y) by a 4-bit window over a table of the point's multiples."""
        table = self.multiples((_Z(x), _Z(y), _Z(1)))
        point = _INFINITY
        top = (k.bit_length() + _WINDOW - 1) // _WINDOW * _WINDOW
        for shift in range(top - _WINDOW, -1, -_WINDOW):
            for _ in range(_WINDOW):
                point = self.double(point)
            digit = (k >> shift) & ((1 << _WINDOW) - 1)
            if digit:
                point = self.add(point, table[digit - 1])
        return point


_WINDOW = 4  # bits per digit of the tables
_arithmetics: dict[Curve, _Arithmetic] = {}


def _arithmetic(curve: Curve) -> _Arithmetic:
    found = _arithmetics.get(curve)
    if found is None:
        found = _arithmetics.setdefault(curve, _Arithmetic(curve))
    return found


# --- Keys ---------------------------------------------------------------------------------------


def _number(digest: bytes, curve: Curve) -> int:
    """The number a digest is signed as: little-endian, mod q, and 1 for 0 (GOST R 34.10 step 2)."""
    return int.from_bytes(digest, "little") % curve.q or 1


@dataclass(frozen=True)
class GostPublicKey:
    """A GOST R 34.10-2012 public key: the point (x, y) of `curve`, checked to lie on it."""

    x: int
    y: int
    curve: Curve = PARAMSET_A_512

    def __post_init__(self) -> None:
        if not self.curve.contains(self.x, self.y):
            raise ValueError(f"the public key is not a point of {self.curve.name}")

    @classmethod
    def from_bytes(cls, data: bytes, curve: Curve = PARAMSET_A_512) -> GostPublicKey:
        """From x‖y, each half little-endian (the certificate's OCTET STRING)."""
        if len(data) != 2 * curve.size:
            raise ValueError(f"a GOST public key on {curve.name} is {2 * curve.size} bytes")
        half = curve.size
        return cls(
            int.from_bytes(data[:half], "little"), int.from_bytes(data[half:], "little"), curve
        )

    def to_bytes(self) -> bytes:
        """x‖y, each half little-endian."""
        size = self.curve.size
        return self.x.to_bytes(size, "little") + self.y.to_bytes(size, "little")

    def verify_numbers(self, e: int, r: int, s: int) -> bool:
        """GOST R 34.10-2012 verification of (r, s) for the number e (steps 1-7 of section 7)."""
        curve = self.curve
        q = curve.q
        if not (0 < r < q and 0 < s < q):
            return False
        e = e % q or 1
        v = pow(e, -1, q)
        z1 = s * v % q
        z2 = -r * v % q
        arithmetic = _arithmetic(curve)
        point = arithmetic.add(
            arithmetic.base_multiple(z1), arithmetic.multiple(z2, self.x, self.y)
        )
        found = arithmetic.affine(point)
        return found is not None and found[0] % q == r

    def verify(self, digest: bytes, signature: bytes) -> bool:
        """Whether `signature` (r‖s, little-endian halves) signs the Streebog `digest`."""
        size = self.curve.size
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "little")
        s = int.from_bytes(signature[size:], "little")
        return self.verify_numbers(_number(digest, self.curve), r, s)


@dataclass(frozen=True)
class GostPrivateKey:
    """A GOST R 34.10-2012 private key d, 0 < d < q."""

    d: int = field(repr=False)
    curve: Curve = PARAMSET_A_512

    def __post_init__(self) -> None:
        if not 0 < self.d < self.curve.q:
            raise ValueError(f"a private key on {self.curve.name} lies in 1..q-1")

    @classmethod
    def generate(cls, curve: Curve = PARAMSET_A_512) -> GostPrivateKey:
        """A new random key (for tests and test CAs: the national CA issues the real ones)."""
        return cls(secrets.randbelow(curve.q - 1) + 1, curve)

    @classmethod
    def from_bytes(cls, data: bytes, curve: Curve = PARAMSET_A_512) -> GostPrivateKey:
        """From the little-endian scalar a PKCS#8 key of НУЦ holds."""
        if len(data) != curve.size:
            raise ValueError(f"a GOST private key on {curve.name} is {curve.size} bytes")
        return cls(int.from_bytes(data, "little"), curve)

    def to_bytes(self) -> bytes:
        """The scalar, little-endian."""
        return self.d.to_bytes(self.curve.size, "little")

    @functools.cached_property
    def public_key(self) -> GostPublicKey:
        """d·G."""
        arithmetic = _arithmetic(self.curve)
        found = arithmetic.affine(arithmetic.base_multiple(self.d))
        assert found is not None  # 0 < d < q, the order of G
        return GostPublicKey(found[0], found[1], self.curve)

    def sign_numbers(self, e: int, k: int | None = None) -> tuple[int, int]:
        """GOST R 34.10-2012 signature (r, s) of the number e; k is the nonce (random when None)."""
        curve = self.curve
        q = curve.q
        e = e % q or 1
        while True:
            nonce = secrets.randbelow(q - 1) + 1 if k is None else k
            found = _arithmetic(curve).affine(_arithmetic(curve).base_multiple(nonce))
            if found is None:
                raise ValueError("the nonce is a multiple of q")
            r = found[0] % q
            s = (r * self.d + nonce * e) % q
            if r and s:
                return r, s
            if k is not None:
                raise ValueError("this nonce gives r or s = 0; take another")

    def sign(self, digest: bytes) -> bytes:
        """The signature of the Streebog `digest`: r‖s, each half little-endian."""
        r, s = self.sign_numbers(_number(digest, self.curve))
        size = self.curve.size
        return r.to_bytes(size, "little") + s.to_bytes(size, "little")
