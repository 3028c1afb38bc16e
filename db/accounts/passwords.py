"""The password rule for team-mode accounts: long, not blank, not a well-known password, not the user name, and
hard to guess by zxcvbn's estimate (keyboard walks, repeats, l33t-spelt dictionary words are cheap to guess
however long they are: `qwertyuiopas`, `aaaaaaaaaaaa`, `P@ssw0rd1234`).

Checked when an account is created or its password changed (db.accounts.auth); the messages say what to change. Length
beats composition rules (NIST SP 800-63B): no demands for digits or symbols, just no short or guessable ones."""
from __future__ import annotations

from zxcvbn import zxcvbn

from ..store.errors import AccountError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # scrypt hashes anything, but a megabyte "password" is a mistake or an attack
MIN_GUESSES = 10**10  # zxcvbn's estimated guesses: ~3 years at 100 guesses/s against a stolen scrypt hash
ESTIMATE_PREFIX = 64  # zxcvbn's cost grows with length; a strong 64-character prefix makes a strong password
# A small deny list of passwords at least 12 characters long that top the public leak lists, compared without
# case, spaces, dashes or dots. A short list on purpose: the length rule does most of the work.
COMMON_PASSWORDS = frozenset({
    "123456789012", "1234567890123", "12345678901234", "123123123123", "111111111111", "000000000000",
    "123456123456", "qwertyuiop12", "qwertyuiop123", "qwertyuiopasdf", "1q2w3e4r5t6y", "1qaz2wsx3edc",
    "password1234", "password12345", "password123456", "passwordpassword", "password1password1",
    "iloveyou1234", "letmein12345", "welcome12345", "administrator", "administrator1", "changeme1234",
    "correcthorsebatterystaple", "trustno1trustno1", "abcdefghijkl", "abc123abc123", "monkeymonkey",
    "football1234", "baseball1234", "superman1234", "sunshine1234", "princess1234", "starwars1234",
    "docrestudio", "docrestudio1", "docrestudio123",
})


def _normalised(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch not in " -_.")


def check_password(password: str, name: str | None = None) -> None:
    """Raise AccountError, saying what is wrong, unless `password` meets the rule for the account `name`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password: expected at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}; "
                           "a few unrelated words make a long password that is easy to remember")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password: expected at most {MAX_PASSWORD_LENGTH} characters, got {len(password)}")
    if not password.strip():
        raise AccountError("password: expected some characters that are not only spaces, tabs or newlines")
    folded = _normalised(password)
    if folded in COMMON_PASSWORDS:
        raise AccountError("password: too common (it is on the lists attackers try first); choose another")
    if name and _normalised(name) and _normalised(name) in folded:
        raise AccountError("password: must not contain the user name; choose another")
    estimate = zxcvbn(password[:ESTIMATE_PREFIX], user_inputs=[name] if name else [])
    if estimate["guesses"] < MIN_GUESSES:
        hint = estimate["feedback"].get("warning") or "it follows a pattern attackers try early"
        raise AccountError(f"password: too easy to guess ({hint.rstrip('.')}); a few unrelated words make a "
                           "strong password that is easy to remember")
