"""The access token's string: `tsk_` and 40 base62 characters, the last 6 a
checksum (CRC32, base62, zero-padded) of the first 34, so that a mistyped token
is refused without a database look-up and secret scanners can recognise one.
Only its SHA-256 is stored."""

import secrets
import zlib

PREFIX = "tsk_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 34  # 34 base62 characters: 202 bits from `secrets`
CHECKSUM_LENGTH = 6  # 62**6 > 2**32: any CRC32 fits
LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
_CHARACTERS = frozenset(ALPHABET)


def base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(random_part: str) -> str:
    return base62(zlib.crc32(random_part.encode()), CHECKSUM_LENGTH)


def new_token() -> str:
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return PREFIX + random_part + checksum(random_part)


def well_formed(token: str) -> bool:
    """The prefix, the length, the alphabet and the checksum: no database."""
    if len(token) != LENGTH or not token.startswith(PREFIX):
        return False
    body = token[len(PREFIX) :]
    if not _CHARACTERS.issuperset(body):
        return False
    return checksum(body[:RANDOM_LENGTH]) == body[RANDOM_LENGTH:]
