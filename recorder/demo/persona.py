"""The demo's synthetic person and what the scripted task types. Every value is made up:
example.* domains (RFC 2606), a 555-01xx phone number, a Luhn-valid test card number."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    name: str
    email: str
    phone: str
    card: str
    card_expiry: str


DEMO_PERSONA = Persona(
    name="Avery Quinn",
    email="avery.quinn@example.net",
    phone="+1 415-555-0132",
    card="4539 1488 0343 6467",
    card_expiry="04/29",
)

# A command typed into the terminal: it prints a contact line, so PII shows up on screen
# in a second app (xterm) and in the typed text.
TERMINAL_COMMAND = "echo 'invoice 2231 sent to billing@northwind.example.com'; date -u +%F"

# The demo passphrase protects a throwaway identity in a temporary home; it is printed.
DEMO_PASSPHRASE = "owntrace demo passphrase"

DEMO_TASK = "Sign up for a Northwind account with my details, then check the invoice in the terminal."
