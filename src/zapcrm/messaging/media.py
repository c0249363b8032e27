"""Where media bytes live: a storage interface, local directory by default."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import uuid
from collections.abc import AsyncIterator
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

    def keys_older_than(self, cutoff: float, batch: int) -> AsyncIterator[list[str]]:
        """Every stored key (temporary files too) last written before `cutoff` (epoch s)."""

    async def remove(self, key: str) -> None:
        """Remove the file under `key`; one already gone is fine."""


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

    async def keys_older_than(self, cutoff: float, batch: int) -> AsyncIterator[list[str]]:
        """Walk one company directory at a time (in a thread), `batch` keys per list."""
        for company in await asyncio.to_thread(self._company_dirs):
            names = await asyncio.to_thread(self._old_files, company, cutoff)
            for start in range(0, len(names), batch):
                yield [f"{company}/{name}" for name in names[start : start + batch]]

    def _company_dirs(self) -> list[str]:
        if not self.root.is_dir():
            return []
        with os.scandir(self.root) as entries:
            return sorted(entry.name for entry in entries if entry.is_dir(follow_symlinks=False))

    def _old_files(self, company: str, cutoff: float) -> list[str]:
        found = []
        with os.scandir(self.root / company) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    found.append(entry.name)
        return sorted(found)

    async def remove(self, key: str) -> None:
        """Remove a stored file by key."""
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


def build_media_storage(settings: Settings) -> MediaStorage:
    """The storage the settings point at (a local directory today)."""
    return LocalMediaStorage(Path(settings.media_dir))
