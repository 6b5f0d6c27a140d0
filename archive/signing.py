"""The archive's signing key and WACZ signatures (Webrecorder's "WACZ Signing and Verification", anonymous
signing).

A signed WACZ carries in `datapackage-digest.json` a `signedData` object: the `hash` of datapackage.json
("sha256:<hex>"), `created` (datapackage.json's own), `software`, `publicKey` (the base64 DER
SubjectPublicKeyInfo of an ECDSA P-256 key) and `signature`, the base64 ECDSA-SHA256 signature of the
`hash` string in the raw r||s form WebCrypto (ReplayWeb.page, ArchiveWeb.page) produces and checks. A
signature says that whoever holds the key vouched for this package; the key's fingerprint (`fingerprint`)
is what an archive publishes so that others can tell its packages from anyone else's.

The key lives in the data directory, `signing-key.pem` (PKCS#8, readable by its owner only), made at the
first signed export. Back it up with the WARC files: a lost key cannot sign again as the same archive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from samizdat.archive.errors import SamizdatError
from samizdat.archive.warc import SOFTWARE

KEY_NAME = "signing-key.pem"
_COORDINATE_BYTES = 32  # P-256
_MAX_KEY_BYTES = 1 << 16


def key_path(root: Path) -> Path:
    return Path(root) / KEY_NAME


def load_or_create_key(root: Path) -> tuple[ec.EllipticCurvePrivateKey, Path, bool]:
    """The archive's private key, made now (mode 0600) if it has none: (key, its path, whether it was made)."""
    path = key_path(root)
    try:
        return _load(path), path, False
    except FileNotFoundError:
        pass
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another export made it meanwhile
        return _load(path), path, False
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key, path, True


def _load(path: Path) -> ec.EllipticCurvePrivateKey:
    with open(path, "rb") as fh:
        data = fh.read(_MAX_KEY_BYTES)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SamizdatError(f"{path}: not a usable signing key ({exc}); move it away to make a new one") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SamizdatError(f"{path}: not an ECDSA P-256 key, which WACZ signing uses; move it away to make a new one")
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def fingerprint(public_key: str) -> str:
    """`sha256:<hex>` of a base64 DER public key: how a person tells one archive's key from another."""
    try:
        der = base64.b64decode(public_key, validate=True)
    except (binascii.Error, ValueError):
        return "(not base64)"
    return "sha256:" + hashlib.sha256(der).hexdigest()


def sign(key: ec.EllipticCurvePrivateKey, digest: str, created: str) -> dict[str, Any]:
    """The `signedData` object for a datapackage.json whose hash is `digest` and whose `created` is `created`."""
    der = key.sign(digest.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
    return {
        "hash": digest,
        "created": created,
        "software": SOFTWARE,
        "publicKey": public_key_b64(key),
        "signature": base64.b64encode(raw).decode("ascii"),
    }


def check(signed: Any) -> str | None:
    """None when `signed` (a signedData object) is an anonymous signature of its own `hash` by its own
    `publicKey`; else what is wrong. Takes the raw r||s form and, as authsign writes it, DER."""
    if not isinstance(signed, dict):
        return "signedData is not an object"
    digest, public, signature = signed.get("hash"), signed.get("publicKey"), signed.get("signature")
    if not isinstance(public, str) or not public:
        if signed.get("domainCert"):
            return "signed by a domain certificate (authsign), which samizdat does not check; use an authsign verifier"
        return "signedData has no publicKey"
    if not isinstance(digest, str) or not isinstance(signature, str):
        return "signedData lacks its hash or signature"
    try:
        key = serialization.load_der_public_key(base64.b64decode(public, validate=True))
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return "signedData's publicKey or signature is not valid base64 DER"
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return "signedData's publicKey is not an ECDSA key"
    if len(raw) == 2 * _COORDINATE_BYTES:
        raw = encode_dss_signature(
            int.from_bytes(raw[:_COORDINATE_BYTES], "big"), int.from_bytes(raw[_COORDINATE_BYTES:], "big")
        )
    try:
        key.verify(raw, digest.encode("ascii", "replace"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "the signature does not match the hash and public key in signedData"
    return None
