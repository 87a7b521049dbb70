"""Webhook signing secrets encrypted at rest (AES-256-GCM), bound to the item they belong to.

HMAC signing needs the secret itself, so it cannot be stored hashed as API keys are. The
webhooks table holds ``enc1.<key id>.<base64 of nonce + ciphertext>`` instead: a copy of the
table (a backup, an export, a leaked read) reveals no secret without the stage's key, and the
webhook's tenant and id are the associated data, so a sealed secret moved to another webhook's
item does not open. The key comes from ``WEBHOOK_SECRETS_KEY`` (Secrets Manager in AWS); its id,
the first bytes of its SHA-256, tells a wrong key from a damaged value.

A stored value that is a plain ``whsec_`` secret (written before encryption) is read as it is
and sealed at its next rotation.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1"
PLAIN_PREFIX = "whsec_"
NONCE_BYTES = 12


class SecretUnreadable(ValueError):
    """A stored secret this box cannot open (another key, or a damaged value)."""


class SecretBox:
    def __init__(self, key_material: bytes) -> None:
        if len(key_material) < 16:
            raise ValueError("the webhook secrets key must be at least 16 bytes")
        self._key = hashlib.sha256(b"triggers-api webhook secrets\x00" + key_material).digest()
        self.key_id = hashlib.sha256(self._key).hexdigest()[:8]
        self._aead: AESGCM | None = None

    def _cipher(self) -> AESGCM:
        if self._aead is None:  # imported on first use: the API's other routes never need it
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(self._key)
        return self._aead

    def seal(self, secret: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher().encrypt(nonce, secret.encode(), context.encode())
        return f"{PREFIX}.{self.key_id}.{base64.b64encode(nonce + sealed).decode()}"

    def open(self, stored: str, context: str) -> str:
        if stored.startswith(PLAIN_PREFIX):
            return stored
        parts = stored.split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            raise SecretUnreadable("not a sealed webhook secret")
        if parts[1] != self.key_id:
            raise SecretUnreadable(
                f"sealed with key {parts[1]}, this stage's WEBHOOK_SECRETS_KEY is {self.key_id}"
            )
        from cryptography.exceptions import InvalidTag

        try:
            raw = base64.b64decode(parts[2], validate=True)
            plain = self._cipher().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (ValueError, InvalidTag):
            raise SecretUnreadable("the sealed webhook secret does not open") from None
        return plain.decode()
