"""Plain mailbox addresses as RFC 5321 and 5322 allow them, checked without DNS.

A plain mailbox is `local@domain` with a dot-atom local part (RFC 5322 3.4.1: atext characters,
dots only between them) of at most 64 characters, and a domain of at least two dot-separated labels
(RFC 5321 4.1.2, RFC 1035 2.3.1: letters, digits and hyphens, no hyphen first or last, 1 to 63
characters each) of at most 255 characters; the whole address fits a 256-octet SMTP path with its
angle brackets, so at most 254 characters (RFC 5321 4.5.3.1). Refused on purpose, though the RFCs
allow them: quoted local parts, address literals (`[127.0.0.1]`), dotless domains and non-ASCII
addresses (no SMTPUTF8), and anything with a display name, a space or a list separator.
"""

from __future__ import annotations

import re

MAX_LOCAL, MAX_DOMAIN, MAX_LABEL, MAX_ADDRESS = 64, 255, 63, 254
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"  # RFC 5322 atext: a dot-atom's characters besides the dots
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# What a regular expression without look-around can say: no dot first or last in a local part of
# 1-64 characters, labels without edge hyphens. Consecutive dots and the domain's and the address's
# lengths need `check_address`; models that only take this pattern miss those three rules.
EMAIL_ADDRESS = rf"^[{_ATEXT}](?:[.{_ATEXT}]{{0,62}}[{_ATEXT}])?@{_LABEL}(?:\.{_LABEL})+$"
_ATOM = re.compile(rf"[{_ATEXT}]+")
_LABEL_CHARS = re.compile(r"[A-Za-z0-9-]+")


def address_problem(address: str) -> str | None:
    """Why `address` is not a plain mailbox RFC 5321/5322 accept, or None when it is one."""
    if address.count("@") != 1:
        return "an address holds exactly one '@'"
    local, domain = address.split("@")
    return _local_problem(local) or _domain_problem(domain) or _length_problem(address)


def check_address(address: str) -> str:
    """`address` unchanged, or `ValueError` naming the rule it breaks (a pydantic validator)."""
    problem = address_problem(address)
    if problem is not None:
        raise ValueError(f"{address!r} is not a valid email address: {problem}")
    return address


def _local_problem(local: str) -> str | None:
    if not local:
        return "empty local part"
    if len(local) > MAX_LOCAL:
        return f"the local part has {len(local)} characters, over {MAX_LOCAL} (RFC 5321 4.5.3.1.1)"
    if local.startswith(".") or local.endswith("."):
        return "the local part starts or ends with a dot (RFC 5322 3.4.1)"
    if ".." in local:
        return "the local part holds consecutive dots (RFC 5322 3.4.1)"
    for atom in local.split("."):
        if not _ATOM.fullmatch(atom):
            bad = next(c for c in atom if not _ATOM.fullmatch(c))
            return f"{bad!r} is not allowed in a local part (dot-atom only: no quotes, spaces or ';')"
    return None


def _domain_problem(domain: str) -> str | None:
    if len(domain) > MAX_DOMAIN:
        return f"the domain has {len(domain)} characters, over {MAX_DOMAIN} (RFC 5321 4.5.3.1.2)"
    labels = domain.split(".")
    if len(labels) < 2:  # noqa: PLR2004 - a name and its top-level domain
        return "the domain needs at least two labels (no dotless or local host names)"
    return next((problem for label in labels if (problem := _label_problem(label))), None)


def _label_problem(label: str) -> str | None:
    if not label:
        return "the domain has an empty label (a dot first, last, or doubled)"
    if not _LABEL_CHARS.fullmatch(label):
        return f"domain label {label!r} may hold only ASCII letters, digits and '-' (no literals)"
    if len(label) > MAX_LABEL:
        return f"domain label {label[:20]!r}... has {len(label)} characters, over {MAX_LABEL}"
    if label.startswith("-") or label.endswith("-"):
        return f"domain label {label!r} starts or ends with '-' (RFC 1035 2.3.1)"
    return None


def _length_problem(address: str) -> str | None:
    if len(address) > MAX_ADDRESS:
        return f"the address has {len(address)} characters, over {MAX_ADDRESS} (RFC 5321 4.5.3.1.3)"
    return None
