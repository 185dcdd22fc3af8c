"""Ed25519 signatures of ``results.json`` (the ``cryptography`` library): key pairs, a detached
signature file beside the results, and checking one against a public key the recipient trusts.

The signature signs the canonical form of the results (:func:`dqm.digest.canonical_json`), the
same bytes their content digest hashes. The signature file (``results.json.sig``) is JSON::

    {"format": "dqm-signature-1", "algorithm": "ed25519", "digest": "sha256:…",
     "key_id": "…", "public_key": "…", "signature": "…"}

``public_key`` (raw 32 bytes, base64) says which key signed; trust comes only from the key the
recipient gives ``dqm verify --key``. ``key_id`` is the first 16 hex digits of the SHA-256 of the
raw public key. Keys are PEM: PKCS#8 for the private key (written owner-only), SubjectPublicKeyInfo
for the public one (what ``openssl pkey -pubout`` writes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from dqm.strictjson import StrictJSONError, loads

SIGNATURE_FORMAT = "dqm-signature-1"
SIGNATURE_SUFFIX = ".sig"
MAX_KEY_BYTES = 64 * 1024
MAX_SIGNATURE_BYTES = 64 * 1024


class SignatureError(ValueError):
    """A key or a signature that cannot be used, or a signature that does not verify."""


class OtherKey(SignatureError):
    """A signature made with another key than the one checked against (not an edit of the content)."""


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair: the private key (PEM, PKCS#8, unencrypted) and the public key (PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def _raw_public(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def key_id(raw_public: bytes) -> str:
    """What a key is known by in messages: the first 16 hex digits of its raw public key's SHA-256."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def private_key_id(pem: bytes) -> str:
    """The id of the key pair a private key (PEM) belongs to; :class:`SignatureError` when it is
    not an unencrypted Ed25519 key."""
    return key_id(_raw_public(_private_key(pem).public_key()))


def public_key_id(pem: bytes) -> str:
    """The id of a public key (PEM); :class:`SignatureError` when it is not an Ed25519 key."""
    return key_id(_raw_public(public_key(pem)))


def _private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError("not an Ed25519 private key (make one with dqm keygen)")
    return key


def public_key(pem: bytes) -> Any:
    """An Ed25519 public key from PEM; :class:`SignatureError` when it is not one."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError("not an Ed25519 public key")
    return key


def sign(canonical: bytes, digest: str, private_pem: bytes) -> str:
    """The signature file (JSON text) of results whose canonical form is ``canonical`` and whose
    content digest is ``digest``."""
    key = _private_key(private_pem)
    raw = _raw_public(key.public_key())
    doc = {
        "format": SIGNATURE_FORMAT,
        "algorithm": "ed25519",
        "digest": f"sha256:{digest}",
        "key_id": key_id(raw),
        "public_key": base64.b64encode(raw).decode("ascii"),
        "signature": base64.b64encode(key.sign(canonical)).decode("ascii"),
    }
    return json.dumps(doc, indent=1) + "\n"


def read_signature(text: bytes) -> dict[str, str]:
    """The fields of a signature file; :class:`SignatureError` when it is not one."""
    try:
        doc = loads(text)
    except StrictJSONError as exc:
        raise SignatureError(f"the signature file is not JSON ({exc})") from None
    fields = ("format", "algorithm", "digest", "key_id", "public_key", "signature")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(f), str) for f in fields):
        raise SignatureError(f"the signature file lacks one of {', '.join(fields)}")
    if doc["format"] != SIGNATURE_FORMAT or doc["algorithm"] != "ed25519":
        raise SignatureError(f"a signature of format {doc['format'][:40]!r} / {doc['algorithm'][:40]!r}")
    return {f: doc[f] for f in fields}


def check(canonical: bytes, signature: dict[str, str], trusted_pem: bytes) -> str:
    """Check a signature (:func:`read_signature`) of the canonical form against the trusted public
    key; returns the key's id. :class:`SignatureError` says why it does not verify."""
    from cryptography.exceptions import InvalidSignature

    trusted = public_key(trusted_pem)
    raw = _raw_public(trusted)
    try:
        sig = base64.b64decode(signature["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature is not base64") from None
    try:
        trusted.verify(sig, canonical)
    except InvalidSignature:
        signer = signature["key_id"][:16]
        if signer != key_id(raw):
            raise OtherKey(f"signed by key {signer}, not by the key given ({key_id(raw)})") from None
        raise SignatureError("the signature does not match the content: it changed after signing") from None
    return key_id(raw)
