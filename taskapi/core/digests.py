"""What is stored of a secret handed out once (an access token, a calendar
feed's URL, an invitation code): its SHA-256 in hex, looked up by equality."""

import hashlib


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
