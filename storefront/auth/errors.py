"""Auth errors, each with a message fit to show a shopper and the HTTP status it maps to."""

from __future__ import annotations


class AuthError(Exception):
    """Base class of every auth failure."""

    status = 400
    default_message = "We could not sign you in."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class UnknownCollection(AuthError):
    status = 404
    default_message = "There is no such account type."


class RateLimited(AuthError):
    status = 429
    default_message = "Too many new accounts from your network. Please try again later."


class StorageError(AuthError):
    status = 503
    default_message = "We could not save your account just now. Please try again in a moment."


class InvalidCredentials(AuthError):
    status = 400
    # The same words whether or not the account exists (no account enumeration).
    default_message = "The email or password is not correct."


class InvalidToken(AuthError):
    status = 401
    default_message = "Your sign-in is no longer valid. Please sign in again."


class TokenExpired(InvalidToken):
    default_message = "Your sign-in has expired. Please sign in again."


class EmailTaken(AuthError):
    status = 409
    default_message = "An account with this email already exists. Please sign in instead."
