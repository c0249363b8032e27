"""Where media bytes live: a storage interface, local directory by default."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import uuid
from pathlib import Path
from typing import Protocol

from zapcrm.config import Settings


class MediaStorage(Protocol):
    """Saves and reads message media by an opaque key."""

    async def save(
        self, company_id: uuid.UUID, message_id: uuid.UUID, data: bytes, mimetype: str | None
    ) -> str:
        """Store the bytes and return the key to read them back."""

    async def read(self, key: str) -> bytes:
        """The bytes stored under `key` (FileNotFoundError when there are none)."""

    async def delete(
        self, company_id: uuid.UUID, message_id: uuid.UUID, mimetype: str | None
    ) -> None:
        """Remove what `save` stored for this message, if anything."""


class LocalMediaStorage:
    """Files under one directory, per company, named by message id (never by user input)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("media key escapes the storage directory")
        return path

    @staticmethod
    def _key(company_id: uuid.UUID, message_id: uuid.UUID, mimetype: str | None) -> str:
        extension = mimetypes.guess_extension((mimetype or "").split(";")[0].strip()) or ".bin"
        return f"{company_id}/{message_id}{extension}"

    async def save(
        self, company_id: uuid.UUID, message_id: uuid.UUID, data: bytes, mimetype: str | None
    ) -> str:
        """Write the file atomically (temp file, then rename) and return its key."""
        key = self._key(company_id, message_id, mimetype)
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(path.suffix + f".{hashlib.sha1(data).hexdigest()[:8]}.tmp")  # noqa: S324 - a temp name, not security
            temporary.write_bytes(data)
            temporary.replace(path)

        await asyncio.to_thread(write)
        return key

    async def read(self, key: str) -> bytes:
        """Read a stored file."""
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(
        self, company_id: uuid.UUID, message_id: uuid.UUID, mimetype: str | None
    ) -> None:
        """Remove the message's file; a file already gone is fine."""
        path = self._path(self._key(company_id, message_id, mimetype))
        await asyncio.to_thread(path.unlink, missing_ok=True)


def build_media_storage(settings: Settings) -> MediaStorage:
    """The storage the settings point at (a local directory today)."""
    return LocalMediaStorage(Path(settings.media_dir))
