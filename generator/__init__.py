"""The medexempt generator: typed SOAP bindings from an XSD folder."""

__version__ = "0.1.0"

# What a generated package needs at run time, exactly (the generator itself needs more): a test
# installs only these into a fresh environment and uses the codec, the client and the server.
RUNTIME_REQUIREMENTS = ("lxml>=6.1", "xsdata>=26.10", "pybase64>=1.4", "httpx>=0.27", "tzdata")
# ... and when it signs or verifies messages (imported by `wssecurity` only when signing is used);
# GOST signatures also need OpenSSL 3 with its GOST provider, a system package
# (docs/how-to/sign-messages.md).
SIGNING_REQUIREMENTS = ("signxml>=4.0", "cryptography>=43", "gmpy2>=2.2")
