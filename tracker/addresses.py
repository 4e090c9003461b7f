"""One mailbox, one address: the normal form of a subscriber's email address.

Every entry point (the subscribe page, the API, the importer) and the rate
limit in front of them use the address in this form, and so does the data
migration that brought stored addresses into it. Variants that reach the
same mailbox (fullwidth letters, an upper-case or Unicode domain, a quoted
local part, an invisible character that the domain's IDNA mapping would drop)
would otherwise count as different people: each gets its own confirmation
mail and its own rate-limit counter.

Pure functions, no database: the migration imports them.
"""

from __future__ import annotations

import unicodedata

import idna
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

EMAIL_MAX_LENGTH = 254

# Characters a reader cannot see: Unicode's default-ignorable code points that
# are not already in the refused categories below (combining grapheme joiner,
# Hangul fillers, Khmer inherent vowels, Mongolian and other variation
# selectors). UTS 46 drops several of them from a domain without a word, so
# "exa<U+00AD>mple.org" would otherwise pass for "example.org".
_INVISIBLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0]
    + list(range(0xFE00, 0xFE10))
    + list(range(0xE0100, 0xE01F0))
)
# Format (Cf: soft hyphen, zero-width space/joiners, bidi controls, BOM),
# control, surrogate, private-use and unassigned code points, and separators
# (a space inside an address is never valid; NFKC turns no-break and other
# spaces into plain ones, which are refused the same way).
_SPACES = frozenset({"Zs", "Zl", "Zp"})
_REFUSED_CATEGORIES = frozenset({"Cf", "Cc", "Cs", "Co", "Cn"}) | _SPACES


def _invisible_character(text: str) -> str | None:
    for char in text:
        if ord(char) in _INVISIBLE or unicodedata.category(char) in _REFUSED_CATEGORIES:
            return char
    return None


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".strip()


def email_normalise(email: str) -> str:
    """The address in its normal form, or ValidationError({"email": ...}).

    - surrounding white space is removed;
    - invisible and format characters (soft hyphen, zero-width characters,
      bidi controls, ...) and any other white space are refused, naming the
      character;
    - Unicode NFKC: fullwidth and other compatibility forms become the
      letters they stand for (ｃａｒｏｌ＠ｅｘａｍｐｌｅ．ｏｒｇ -> carol@example.org);
    - a quoted local part ("carol"@example.org) is refused: it is the same
      mailbox as the unquoted one, or one that needs quoting, which no
      mail client of a subscriber needs;
    - the domain is lower-cased and stored in its ASCII (IDNA, UTS 46
      non-transitional) form: bücher.de -> xn--bcher-kva.de;
    - the result must pass Django's EmailValidator and fit in 254 characters.

    The local part keeps its case (a few servers tell cases apart); lookups
    and the unique constraint compare whole addresses case-insensitively.
    """
    email = (email or "").strip()
    if not email:
        raise ValidationError({"email": "Enter an email address."})
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError({"email": f"An email address has at most {EMAIL_MAX_LENGTH} characters."})
    normalised = unicodedata.normalize("NFKC", email)
    local, at, domain = normalised.rpartition("@")
    if '"' in local or "\\" in local:
        raise ValidationError(
            {
                "email": "Addresses with quotes or backslashes before the @ are not accepted; "
                "enter the address without them."
            }
        )
    for text in (email, normalised):
        if (char := _invisible_character(text)) is not None:
            what = "a space" if unicodedata.category(char) in _SPACES else "an invisible or formatting character"
            raise ValidationError(
                {"email": f"The address contains {what} ({_describe(char)}); type it again without it."}
            )
    if not at or not local or not domain:
        raise ValidationError({"email": "Enter a valid email address."})
    try:
        ascii_domain = idna.encode(domain.lower(), uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ValidationError(
            {"email": "Enter a valid email address (the part after the @ is not a valid domain name)."}
        ) from None
    address = f"{local}@{ascii_domain}"
    if len(address) > EMAIL_MAX_LENGTH:
        raise ValidationError({"email": f"An email address has at most {EMAIL_MAX_LENGTH} characters."})
    try:
        EmailValidator()(address)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    return address


def email_rate_key(address: str) -> str:
    """The key the per-address rate limit counts, for a normalised address:
    case-insensitive, and without a "+tag" subaddress (carol+1@, carol+2@
    reach carol@ at most providers). Only the limit groups them; each is still
    its own address."""
    local, _, domain = address.rpartition("@")
    base = local.split("+", 1)[0] or local
    return f"{base.lower()}@{domain.lower()}"
