"""Sealing: AES-GCM under keys derived from VEIL_SECRET_KEY, with key ids so secrets can rotate.

Two shapes:
- `seal`/`unseal`: a short value (a deletion record's name, a webhook secret) into one token.
- `encrypt_stream`/`decrypt_stream`: a file in independently sealed chunks, each with a fresh
  12-byte nonce and associated data binding the owner (workspace + export id), the chunk index
  and whether it is the last chunk, so chunks cannot be moved, reordered or truncated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FILE_MAGIC = b"VEILENC1"
_NONCE = 12
_KID = 8
_SEAL_PREFIX = "v1."


class DecryptionError(Exception):
    """Ciphertext that does not open under any key for this owner."""


def _derive(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=b"veil", info=purpose.encode()).derive(
        secret.encode()
    )


class Keyring:
    """Keys for one purpose: the first encrypts, all decrypt (looked up by key id)."""

    def __init__(self, secrets: list[str], purpose: str) -> None:
        if not secrets:
            raise ValueError("at least one secret is required")
        self._keys: dict[bytes, bytes] = {}
        self._current: bytes = b""
        for index, secret in enumerate(secrets):
            key = _derive(secret, purpose)
            kid = hashlib.sha256(b"kid" + key).digest()[:_KID]
            self._keys.setdefault(kid, key)
            if index == 0:
                self._current = kid

    @property
    def current_kid(self) -> bytes:
        return self._current

    def _key(self, kid: bytes) -> AESGCM:
        key = self._keys.get(kid)
        if key is None:
            raise DecryptionError("sealed with a key that is no longer configured")
        return AESGCM(key)

    # -- short values ------------------------------------------------------------------------

    def seal(self, plaintext: str, *, aad: str = "") -> str:
        nonce = os.urandom(_NONCE)
        ct = self._key(self._current).encrypt(nonce, plaintext.encode(), aad.encode())
        return _SEAL_PREFIX + base64.urlsafe_b64encode(self._current + nonce + ct).decode()

    def unseal(self, token: str, *, aad: str = "") -> str:
        if not token.startswith(_SEAL_PREFIX):
            raise DecryptionError("not a sealed value")
        raw = base64.urlsafe_b64decode(token[len(_SEAL_PREFIX) :])
        kid, nonce, ct = raw[:_KID], raw[_KID : _KID + _NONCE], raw[_KID + _NONCE :]
        try:
            return self._key(kid).decrypt(nonce, ct, aad.encode()).decode()
        except Exception as exc:  # InvalidTag and friends
            raise DecryptionError("sealed value does not open") from exc

    def sealed_with_current(self, token: str) -> bool:
        """Whether `token` was sealed under the current secret (else: re-seal it to keep it
        readable once the retired secrets are dropped)."""
        if not token.startswith(_SEAL_PREFIX):
            return False
        raw = base64.urlsafe_b64decode(token[len(_SEAL_PREFIX) :])
        return raw[:_KID] == self._current

    def seal_optional(self, plaintext: str | None, *, aad: str = "") -> str | None:
        return None if plaintext is None else self.seal(plaintext, aad=aad)

    def unseal_optional(self, token: str | None, *, aad: str = "") -> str | None:
        return None if token is None else self.unseal(token, aad=aad)

    # -- MACs (tracking links) ---------------------------------------------------------------

    def mac(self, message: str) -> str:
        digest = hmac.new(self._keys[self._current], message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")

    def verify_mac(self, message: str, tag: str) -> bool:
        if not tag.isascii():  # never a tag of ours; compare_digest refuses non-ASCII str
            return False
        for key in self._keys.values():
            digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
            expected = base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")
            if hmac.compare_digest(expected, tag):
                return True
        return False

    # -- files -------------------------------------------------------------------------------

    def encrypt_stream(self, chunks: Iterable[bytes], out: BinaryIO, *, owner: str) -> None:
        """Write FILE_MAGIC, key id, then `len | nonce | ct` records; the last one is flagged."""
        aead = self._key(self._current)
        out.write(FILE_MAGIC + self._current)
        index = 0
        pending: bytes | None = None
        for chunk in chunks:
            if not chunk:
                continue
            if pending is not None:
                _write_record(out, aead, pending, owner, index, final=False)
                index += 1
            pending = chunk
        _write_record(out, aead, pending or b"", owner, index, final=True)

    def decrypt_stream(self, source: BinaryIO, *, owner: str) -> Iterator[bytes]:
        header = source.read(len(FILE_MAGIC) + _KID)
        if len(header) != len(FILE_MAGIC) + _KID or not header.startswith(FILE_MAGIC):
            raise DecryptionError("not a Veil encrypted file")
        aead = self._key(header[len(FILE_MAGIC) :])
        index = 0
        while True:
            size_raw = source.read(4)
            if len(size_raw) != 4:
                raise DecryptionError("file is truncated")
            (size,) = struct.unpack(">I", size_raw)
            record = source.read(size)
            if len(record) != size:
                raise DecryptionError("file is truncated")
            nonce, ct = record[:_NONCE], record[_NONCE:]
            for final in (False, True):
                try:
                    plain = aead.decrypt(nonce, ct, _chunk_aad(owner, index, final))
                except Exception:  # noqa: S112 - try the other flag, then fail below
                    continue
                break
            else:
                raise DecryptionError("file does not open for this owner")
            yield plain
            if final:
                if source.read(1):
                    raise DecryptionError("data after the final chunk")
                return
            index += 1


def _chunk_aad(owner: str, index: int, final: bool) -> bytes:
    return f"{owner}|{index}|{'final' if final else 'more'}".encode()


def _write_record(
    out: BinaryIO, aead: AESGCM, plain: bytes, owner: str, index: int, *, final: bool
) -> None:
    nonce = os.urandom(_NONCE)
    ct = aead.encrypt(nonce, plain, _chunk_aad(owner, index, final))
    out.write(struct.pack(">I", len(nonce) + len(ct)) + nonce + ct)


def hash_token(token: str) -> str:
    """API and write keys are high-entropy: a plain SHA-256 is the right lookup hash."""
    return hashlib.sha256(token.encode()).hexdigest()
