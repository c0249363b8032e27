"""Small well-formed media files (JPEG, QR-like PNG, PDF, Ogg/Opus) made without codecs."""

from __future__ import annotations

import struct
import zlib

__all__ = ["audio_seconds", "image_size", "jpeg", "ogg_opus", "pdf", "qr_png"]


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg(width: int = 64, height: int = 48) -> bytes:
    """A baseline greyscale JPEG of uniform mid-grey (every block is DC 0 and end-of-block)."""
    quant = _segment(0xDB, b"\x00" + b"\x01" * 64)
    frame = _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    # One Huffman code per table ("0"): DC category 0 and the AC end-of-block symbol.
    single_code = b"\x01" + b"\x00" * 15 + b"\x00"
    dc_table = _segment(0xC4, b"\x00" + single_code)
    ac_table = _segment(0xC4, b"\x10" + single_code)
    scan = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)  # pad the last byte with ones, as the standard requires
    data = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    return b"\xff\xd8" + quant + frame + dc_table + ac_table + scan + data + b"\xff\xd9"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def qr_png(seed_text: str, modules: int = 29, scale: int = 6) -> bytes:
    """A greyscale PNG that looks like a QR code (finder squares plus seeded modules)."""
    digest = zlib.crc32(seed_text.encode())
    cells = [[False] * modules for _ in range(modules)]
    state = digest or 1
    for row in range(modules):
        for col in range(modules):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            cells[row][col] = bool(state >> 16 & 1)
    for top, left in ((0, 0), (0, modules - 7), (modules - 7, 0)):
        for row in range(7):
            for col in range(7):
                ring = max(abs(row - 3), abs(col - 3))
                cells[top + row][left + col] = ring != 2
    quiet = 4
    size = (modules + 2 * quiet) * scale
    raw = bytearray()
    for y in range(size):
        raw.append(0)  # filter type None
        row_index = y // scale - quiet
        for x in range(size):
            col_index = x // scale - quiet
            inside = 0 <= row_index < modules and 0 <= col_index < modules
            dark = inside and cells[row_index][col_index]
            raw.append(0 if dark else 255)
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + _png_chunk(b"IEND", b"")
    )


def pdf(title: str) -> bytes:
    """A one-page PDF showing a single line of text."""
    text = title.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = (crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], sequence: int, header_type: int, granule: int) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    head = struct.pack(
        "<4sBBqIIIB", b"OggS", 0, header_type, granule, 0x5A41, sequence, 0, len(lacing)
    )
    page = head + bytes(lacing) + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def ogg_opus(seconds: int) -> bytes:
    """An Ogg/Opus voice note: valid headers plus one page of silent 20 ms frames per second."""
    opus_head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    opus_tags = b"OpusTags" + struct.pack("<I", 8) + b"zapcrm-s" + struct.pack("<I", 0)
    pages = [_ogg_page([opus_head], 0, 0x02, 0), _ogg_page([opus_tags], 1, 0x00, 0)]
    silence = b"\xf8\xff\xfe"  # a 20 ms CELT silence frame
    count = max(1, seconds)
    for second in range(count):
        granule = 312 + (second + 1) * 48000
        header_type = 0x04 if second == count - 1 else 0x00
        pages.append(_ogg_page([silence] * 50, 2 + second, header_type, granule))
    return b"".join(pages)


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG, or (0, 0) when the format is not recognised."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data) and data[index] == 0xFF:
            marker = data[index + 1]
            (length,) = struct.unpack(">H", data[index + 2 : index + 4])
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return int(width), int(height)
            index += 2 + int(length)
    return 0, 0


def audio_seconds(data: bytes) -> int:
    """A voice note's length: from the last Ogg granule, else its size at Opus' usual 16 kbit/s."""
    last_page = data.rfind(b"OggS")
    if last_page >= 0 and len(data) >= last_page + 14:
        (granule,) = struct.unpack("<q", data[last_page + 6 : last_page + 14])
        if granule > 0:
            return max(1, round(int(granule) / 48000))
    return max(1, round(len(data) * 8 / 16000))
