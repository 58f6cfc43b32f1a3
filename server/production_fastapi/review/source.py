"""Turning bytes into text, or into one clear PF000 reason why not (binary, too large, bad encoding)."""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

__all__ = ["Unreadable", "decode_python", "decode_text"]

_SNIFF = 8192


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Why a file was not reviewed, as one sentence, and where the problem is when known."""

    message: str
    line: int = 1
    column: int = 1


def _too_large(data: bytes, limit: int) -> Unreadable | None:
    if len(data) > limit:
        return Unreadable(f"file is {len(data):,} bytes, over the {limit:,}-byte limit (max-file-size); not reviewed")
    return None


def _binary(data: bytes) -> Unreadable | None:
    if b"\x00" in data[:_SNIFF]:
        return Unreadable("file looks binary (it contains NUL bytes); not reviewed")
    return None


def _bad_utf8(data: bytes, encoding: str) -> Unreadable:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Unreadable(f"file is not valid {encoding} (byte {data[exc.start]:#04x}); not reviewed", line, column)
    except LookupError:
        pass
    return Unreadable(f"file declares an unknown encoding {encoding!r}; not reviewed")


def decode_python(data: bytes, limit: int) -> str | Unreadable:
    """Decode Python source honouring a BOM and a PEP 263 coding cookie (UTF-8 otherwise)."""
    problem = _too_large(data, limit) or _binary(data)
    if problem:
        return problem
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        # tokenize says "invalid or missing encoding declaration" for undeclared non-UTF-8 bytes too: say which.
        if b"coding" not in data[:400]:
            return _bad_utf8(data, "utf-8")
        return Unreadable(f"bad encoding declaration: {exc.msg}; not reviewed")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return _bad_utf8(data, encoding)
    return text.removeprefix("\ufeff")


def decode_text(data: bytes, limit: int) -> str | Unreadable:
    """Decode a non-Python file (Dockerfile, Procfile, config) as UTF-8."""
    problem = _too_large(data, limit) or _binary(data)
    if problem:
        return problem
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return _bad_utf8(data, "utf-8")
