"""The rules of full accounts: upgrade, sign-in with cart merge, sign-out, verification, changes.

Views call these functions and only turn their results and errors into pages. Each change is one
transaction; every change of email or password rotates the record's token key (every older token dies)
and then issues a fresh cookie for this device, which also renews the Flask session.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from flask import current_app
from flask import render_template
from flask import url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from ..auth.accounts import check_password_policy
from ..auth.accounts import clean_email
from ..auth.accounts import email_in_use
from ..auth.accounts import FieldError
from ..auth.errors import AuthError
from ..auth.errors import EmailTaken
from ..auth.errors import InvalidToken
from ..auth.errors import StorageError
from ..auth.errors import TokenExpired
from ..auth.identity import cancel_identity_change
from ..auth.models import AuthRecord
from ..auth.passwords import hash_password
from ..auth.passwords import verify_password
from ..auth.service import AuthData
from ..auth.service import sign_in_to_account
from ..auth.service import sign_in_with_token
from ..auth.service import sign_out
from ..auth.tokens import issue_token
from ..auth.tokens import VERIFICATION_TYPE
from ..auth.tokens import verify_token
from ..extensions import db
from ..mail import Mail
from ..mail import send_mail
from ..models import utcnow
from ..shop.cart import Cart
from ..shop.cart import cart_count
from ..shop.cart import load_cart
from ..shop.cart import MAX_LINE_QUANTITY
from ..shop.cart import MergePolicy
from ..shop.cart import move_cart
from ..shop.checkout import retire_anonymous
from ..shop.models import Order

logger = logging.getLogger(__name__)


class NotAnonymous(AuthError):
    status = 409
    default_message = "This is already a full account."


class VerificationFailed(AuthError):
    status = 400
    default_message = (
        "This verification link is not valid. It may be incomplete, or a newer link may have replaced it."
    )


EXPIRED_LINK = "This verification link has expired. Sign in and ask for a new one on your account page."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# ---------------------------------------------------------------------------------------------------
# Upgrade: an anonymous record becomes a full account and keeps its id, cart and orders.


@dataclass(frozen=True)
class ChangeResult:
    """A change that sent (or tried to send) a verification email."""

    record: AuthRecord
    verification_sent: bool


def upgrade_to_account(
    record: AuthRecord, email: str, password: str, *, set_cookie: bool = True, site_url: str | None = None
) -> ChangeResult:
    """Turn the anonymous ``record`` into a full account with ``email`` and ``password``.

    The record keeps its id, collection, cart and orders. Its password gets the slow hash, its token
    key rotates (every token of the anonymous identity dies), and this request signs in again with a
    fresh token and session. ``verified`` stays False until the emailed link is followed.

    Raises ``FieldError`` for input to correct, ``EmailTaken`` when any collection already has the
    address (the shopper should sign in instead: the cart is merged then) and ``NotAnonymous``.
    The JSON API passes ``set_cookie=False`` (its client signs in again with the new password) and
    its ``site_url`` for the link in the mail (see :func:`send_verification`).
    """
    if not record.is_anonymous:
        raise NotAnonymous()
    email = clean_email(email)
    check_password_policy(password)
    if email_in_use(email):
        raise EmailTaken()
    record.email = email
    record.username = email.split("@", 1)[0][:150]
    record.password_hash = hash_password(password)
    record.is_anonymous = False
    record.verified = False
    record.upgraded_at = utcnow()
    record.rotate_token_key()
    try:
        db.session.commit()
    except IntegrityError as error:  # the address was taken in the same instant
        db.session.rollback()
        raise EmailTaken() from error
    except SQLAlchemyError as error:
        db.session.rollback()
        raise StorageError() from error
    sign_in_with_token(issue_token(record), set_cookie=set_cookie)
    return ChangeResult(record, send_verification(record, site_url=site_url))


# ---------------------------------------------------------------------------------------------------
# Sign-in with cart merge, and retiring anonymous records.


def merge_policy() -> MergePolicy:
    """The configured ``CART_MERGE_POLICY`` (checked when the app starts)."""
    return MergePolicy(current_app.config["CART_MERGE_POLICY"])


@dataclass(frozen=True)
class MergeReport:
    """What a cart merge did, for the message to the shopper."""

    policy: MergePolicy
    guest_items: int  # items in the guest cart before the merge
    cart_items: int  # items in the account's cart after it
    capped: bool  # some quantities were lowered to what is in stock

    @property
    def message(self) -> str:
        guest = _plural(self.guest_items, "item")
        total = _plural(self.cart_items, "item")
        if self.policy is MergePolicy.SUM:
            text = f"We added {guest} from your guest cart to your account's cart, which now has {total}."
        elif self.policy is MergePolicy.MAX:
            text = (
                f"We merged the {guest} of your guest cart into your account's cart, keeping the larger "
                f"quantity of each product. It now has {total}."
            )
        else:
            text = f"Your guest cart ({guest}) replaced the cart saved in your account."
        if self.capped:
            text += " Some quantities were lowered to what we have in stock."
        return text


@dataclass(frozen=True)
class SignInResult:
    auth: AuthData
    merge: MergeReport | None  # None: there was no guest cart to merge


def sign_in_with_cart_merge(email: str, password: str) -> SignInResult:
    """Sign in to a full account from the login page, bringing the current guest cart along.

    When the request's identity is an anonymous record, its cart moves into the account's by
    :func:`merge_policy` and the record is retired (see :func:`retire_anonymous`), in one
    transaction. If that fails, the sign-in is undone too, so the shopper keeps the guest cart.
    """
    # Read the guest before signing in: the sign-in replaces current_user and clears the session.
    guest_id = current_user.id if current_user.is_authenticated and current_user.is_anonymous else None
    auth = sign_in_to_account(email, password)  # raises InvalidCredentials; nothing changed then
    if guest_id is None or guest_id == auth.record.id:
        return SignInResult(auth, None)
    try:
        report = merge_guest_into(guest_id, auth.record, merge_policy())
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        cancel_identity_change()
        raise StorageError(
            "We couldn't sign you in just now. Your guest cart is safe: please try again."
        ) from error
    return SignInResult(auth, report)


def _merged_count(guest: Cart, account: Cart, policy: MergePolicy) -> int:
    """The item count a merge would give if stock were unlimited."""
    guest_quantities = Counter({line.product_id: line.quantity for line in guest.lines})
    account_quantities = Counter({line.product_id: line.quantity for line in account.lines})
    if policy is MergePolicy.REPLACE:
        merged = guest_quantities
    elif policy is MergePolicy.SUM:
        merged = guest_quantities + account_quantities
    else:
        merged = guest_quantities | account_quantities  # the larger count of each product
    return sum(min(quantity, MAX_LINE_QUANTITY) for quantity in merged.values())


def merge_guest_into(guest_id: str, account: AuthRecord, policy: MergePolicy) -> MergeReport | None:
    """Move the guest's cart into ``account``'s and retire the guest. Does not commit.

    Returns None when the guest cart was empty (the account's cart is left alone, whatever the policy).
    """
    guest_cart = load_cart(guest_id)
    report: MergeReport | None = None
    if guest_cart:
        expected = _merged_count(guest_cart, load_cart(account.id), policy)
        guest_items = guest_cart.count
        move_cart(guest_id, account.id, policy)
        after = cart_count(account.id)
        report = MergeReport(policy, guest_items, after, capped=after < expected)
    retire_anonymous(guest_id, into=account)
    return report


def sign_out_shopper() -> bool:
    """Sign the request's identity out. A guest (anonymous) record is retired: its cart can't be
    reached again without the cookie that was just cleared. Returns whether a guest was signed out."""
    guest_id = current_user.id if current_user.is_authenticated and current_user.is_anonymous else None
    sign_out()
    if guest_id is None:
        return False
    try:
        retire_anonymous(guest_id)
        db.session.commit()
    except SQLAlchemyError:
        # The sign-out itself worked; the inactive-account cleanup removes the record later.
        db.session.rollback()
        logger.exception("Could not retire anonymous record %s at sign-out", guest_id)
    return True


# ---------------------------------------------------------------------------------------------------
# Email verification.


def send_verification(record: AuthRecord, *, site_url: str | None = None) -> bool:
    """Email ``record`` a signed link that confirms its address. Returns whether the mail went out.

    The link is a ``verification`` token keyed by the record's token key and bound to the address, so
    it dies when the email or password changes, and expires after VERIFICATION_TOKEN_LIFETIME. With
    ``site_url`` the link starts with it instead of the address the request came to.
    """
    lifetime = current_app.config["VERIFICATION_TOKEN_LIFETIME"]
    token = issue_token(record, VERIFICATION_TYPE, lifetime=lifetime, extra={"email": record.email})
    if site_url is None:
        link = url_for("account.verify_email", token=token, _external=True)
    else:
        link = site_url.rstrip("/") + url_for("account.verify_email", token=token)
    hours = max(1, round(lifetime.total_seconds() / 3600))
    body = render_template("mail/verify_email.txt", record=record, link=link, hours=hours)
    return send_mail(Mail(record.email, "Confirm your email address", body))


def check_verification_token(token: str) -> AuthRecord:
    """The full account a verification link names, or ``VerificationFailed`` with the reason."""
    try:
        verified, claims = verify_token(token, VERIFICATION_TYPE)
    except TokenExpired as error:
        raise VerificationFailed(EXPIRED_LINK) from error
    except InvalidToken as error:
        raise VerificationFailed() from error
    record = verified.record
    if record.is_anonymous or claims.get("email") != record.email:
        raise VerificationFailed()
    return record


def confirm_verification(token: str) -> AuthRecord:
    """Mark the record a verification link names as verified."""
    record = check_verification_token(token)
    if not record.verified:
        record.verified = True
        db.session.commit()
    return record


# ---------------------------------------------------------------------------------------------------
# Changes on the account page.


def _check_current_password(record: AuthRecord, password: str) -> None:
    if not password or not verify_password(record.password_hash, password):
        raise FieldError("current_password", "Your current password is not correct.")


def _commit_credentials_change(record: AuthRecord, *, set_cookie: bool = True) -> None:
    """Rotate the token key, save, and sign this device in again with a fresh token (with
    ``set_cookie=False``, the JSON API's, the client signs in again itself)."""
    record.rotate_token_key()
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise FieldError("email", "Another account already uses this email address.") from error
    except SQLAlchemyError as error:
        db.session.rollback()
        raise StorageError("We could not save that change just now. Please try again.") from error
    sign_in_with_token(issue_token(record), set_cookie=set_cookie)


def change_email(record: AuthRecord, new_email: str, current_password: str) -> ChangeResult:
    """Give the account a new address: asks for the password, signs other devices out, and asks
    for verification of the new address."""
    _check_current_password(record, current_password)
    email = clean_email(new_email)
    if email == record.email:
        raise FieldError("email", "That is already your email address.")
    if email_in_use(email):
        raise FieldError("email", "Another account already uses this email address.")
    record.email = email
    record.verified = False
    _commit_credentials_change(record)
    return ChangeResult(record, send_verification(record))


def change_password(
    record: AuthRecord, current_password: str, new_password: str, *, set_cookie: bool = True
) -> None:
    """Set a new password: asks for the current one and signs every other device out."""
    _check_current_password(record, current_password)
    check_password_policy(new_password)
    record.password_hash = hash_password(new_password)
    _commit_credentials_change(record, set_cookie=set_cookie)


def order_history(record: AuthRecord) -> list[Order]:
    """The account's orders and those of guest records merged into it, newest first."""
    merged = select(AuthRecord.id).where(AuthRecord.merged_into_id == record.id)
    query = (
        select(Order)
        .where((Order.owner_id == record.id) | Order.owner_id.in_(merged))
        .options(selectinload(Order.lines))
        .order_by(Order.created.desc(), Order.id.desc())
    )
    return list(db.session.execute(query).scalars())
