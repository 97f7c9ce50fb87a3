"""The life of a guest: an anonymous account, from its first cart action to its cleanup.

Read top to bottom; each step is one section, and every rule about guests is in this module:

1. Who is asking: nobody, a guest or a full account (:class:`~storefront.auth.Identity`).
2. Created: lazily on the first cart action, or eagerly on arrival (``TRY_BEFORE_YOU_BUY``).
3. Signed in: :func:`~storefront.auth.sign_in_anonymously` makes the record and sets the cookie.
4. Handed over at guest checkout: a guest of ``GUEST_CHECKOUT_COLLECTION`` takes over the cart.
5. Upgraded: the guest chooses an email and a password and keeps its id, cart and orders.
6. Merged at sign-in: the guest's cart joins the account's (``CART_MERGE_POLICY``).
7. Signed out: the guest can never be reached again, so it is retired.
8. Retired: deleted, or kept and linked to the account when it owns orders.
9. Cleaned up: which idle guests a cleanup may delete (the admin's batches run the rule).

Services here take the record they act for as an argument; only views read the request's identity
(:func:`~storefront.auth.current_record`). This module sits at the top of the shop package because
it needs the cart: the shop's views call it, and so do the account and admin packages above.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask import Flask
from sqlalchemy import ColumnElement
from sqlalchemy import delete
from sqlalchemy import Exists
from sqlalchemy import exists
from sqlalchemy import true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError

from ..auth import AuthData
from ..auth import AuthError
from ..auth import AuthRecord
from ..auth import cancel_identity_change
from ..auth import check_password_policy
from ..auth import clean_email
from ..auth import email_in_use
from ..auth import EmailTaken
from ..auth import hash_password
from ..auth import Identity
from ..auth import issue_token
from ..auth import sign_in_anonymously
from ..auth import sign_in_to_account
from ..auth import sign_in_with_token
from ..auth import sign_out
from ..auth import StorageError
from ..config import check_choice
from ..extensions import db
from ..models import held_by_session
from ..models import utcnow
from . import statements
from .cart import cart_count
from .cart import load_cart
from .cart import MergePolicy
from .cart import move_cart
from .cart import transfer_cart
from .models import CartItem
from .models import Order

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------
# 1. Who is asking
#
# ``Identity.of(record)`` (storefront.auth) names the three states. Nobody owns no cart; a guest is
# an anonymous record that owns one; a full account owns one and has an email and a password its
# owner chose. Every step below starts from the state of the record it is given.


# ---------------------------------------------------------------------------------------------------
# 2. Created: lazily on the first cart action, or eagerly on arrival

CREATION_MODES = ("lazy", "eager", "off")
# In eager mode a visitor gets a guest only once this cookie has come back: proof that the client
# keeps cookies, so the guest it gets will be used again instead of one per request.
PROBE_COOKIE = "storefront_probe"
_CRAWLERS = re.compile(
    r"bot|crawl|spider|slurp|facebookexternalhit|embedly|preview|monitor|curl|wget|python-requests"
    r"|httpx|go-http-client|headless",
    re.IGNORECASE,
)


def creation_mode() -> str:
    """``TRY_BEFORE_YOU_BUY``: ``lazy``, ``eager`` or ``off`` (checked when the app starts)."""
    return str(current_app.config["TRY_BEFORE_YOU_BUY"])


def is_crawler(user_agent: str | None) -> bool:
    """Known crawlers, link previewers and scripted clients (and clients that send no agent)."""
    return not user_agent or _CRAWLERS.search(user_agent) is not None


def cart_owner_for(record: AuthRecord | None) -> AuthRecord | None:
    """Before a cart action (lazy creation): the record that owns the cart.

    ``record`` when there is one; otherwise, in ``lazy`` and ``eager`` mode, a new guest signed in
    now. ``None`` when there is nobody and nobody may be made (``off``). Raises ``AuthError`` when
    the guest cannot be created (rate limit, storage).
    """
    if record is not None:
        return record
    if creation_mode() == "off":
        return None
    return sign_in_anonymously().record


def greet_on_arrival(user_agent: str | None, returned_probe: bool) -> bool:
    """A page view by nobody (eager creation). Returns whether the probe cookie should be set.

    Crawlers get nothing; a client that has not sent the probe back gets the probe; one that has
    gets a guest. Rate limited or storage trouble: it browses without one, and its first cart
    action tries again.
    """
    if creation_mode() != "eager" or is_crawler(user_agent):
        return False
    if not returned_probe:
        return True
    with contextlib.suppress(AuthError):
        sign_in_anonymously()
    return False


# ---------------------------------------------------------------------------------------------------
# 3. Signed in
#
# ``sign_in_anonymously(collection)`` (storefront.auth) writes the record with a generated email on a
# reserved domain and a generated 256-bit password, signs in with exactly those and sets the auth
# cookie; the token then keeps the guest (refreshed while it comes back) until it expires.


# ---------------------------------------------------------------------------------------------------
# 4. Handed over at guest checkout


def guest_checkout_collection() -> str:
    """``GUEST_CHECKOUT_COLLECTION``: where "Continue as Guest" makes its guest."""
    return str(current_app.config["GUEST_CHECKOUT_COLLECTION"])


def needs_checkout_options(record: AuthRecord | None) -> bool:
    """Anyone without a full account, except a guest made for checkout, chooses how to check out."""
    state = Identity.of(record)
    if state is Identity.NOBODY:
        return True
    return state is Identity.GUEST and record is not None and record.collection != guest_checkout_collection()


def continue_as_guest(previous: AuthRecord | None) -> AuthData:
    """Make a guest of ``GUEST_CHECKOUT_COLLECTION``, sign in as it and carry ``previous``'s cart over.

    The previous identity (a guest of another collection, or nobody) hands its cart over and is
    retired: nobody could sign in to it again. All of it is one transaction: if anything fails,
    nothing is made or changed, the shopper keeps the previous identity and cart, and the error says
    why.
    """
    previous_id = previous.id if previous is not None else None
    # Raises AuthError (rate limit, storage) having made nothing.
    auth = sign_in_anonymously(collection=guest_checkout_collection(), commit=False)
    try:
        if previous_id is not None:
            transfer_cart(previous_id, auth.record.id)
            retire(previous_id)
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        cancel_identity_change()  # no new cookie: the request's own cookie names the shopper again
        raise StorageError() from error
    return auth


# ---------------------------------------------------------------------------------------------------
# 5. Upgraded


class NotAnonymous(AuthError):
    status = 409
    default_message = "This is already a full account."


def upgrade(record: AuthRecord, email: str, password: str, *, set_cookie: bool = True) -> AuthRecord:
    """Turn the guest ``record`` into a full account with ``email`` and ``password``.

    The record keeps its id, collection, cart and orders. Its password gets the slow hash, its token
    key rotates (every token of the guest dies), and this request signs in again with a fresh token
    and session. ``verified`` stays False until the owner confirms the address.

    Raises ``FieldError`` for input to correct, ``EmailTaken`` when any collection already has the
    address (the shopper should sign in instead: the cart is merged then) and ``NotAnonymous``.
    ``set_cookie=False`` is for the JSON API, whose client signs in again with the new password.
    """
    if Identity.of(record) is not Identity.GUEST:
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
    return record


# ---------------------------------------------------------------------------------------------------
# 6. Merged at sign-in


def merge_policy() -> MergePolicy:
    """``CART_MERGE_POLICY`` (checked when the app starts)."""
    return MergePolicy(current_app.config["CART_MERGE_POLICY"])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


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


def sign_in_with_cart_merge(current: AuthRecord | None, email: str, password: str) -> SignInResult:
    """Sign in to a full account from the login page, bringing the guest cart of ``current`` along.

    When ``current`` (the request's identity) is a guest, its cart moves into the account's by
    :func:`merge_policy` and the guest is retired, in one transaction. If that fails, the sign-in is
    undone too, so the shopper keeps the guest cart.
    """
    guest_id = current.id if current is not None and Identity.of(current) is Identity.GUEST else None
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


def merge_guest_into(guest_id: str, account: AuthRecord, policy: MergePolicy) -> MergeReport | None:
    """Move the guest's cart into ``account``'s and retire the guest. Does not commit.

    Returns None when the guest cart was empty (the account's cart is left alone, whatever the policy).
    """
    guest_items = load_cart(guest_id).count
    report: MergeReport | None = None
    if guest_items:
        capped = move_cart(guest_id, account.id, policy)
        report = MergeReport(policy, guest_items, cart_count(account.id), capped)
    retire(guest_id, into=account)
    return report


# ---------------------------------------------------------------------------------------------------
# 7. Signed out


def sign_out_shopper(current: AuthRecord | None) -> bool:
    """Sign ``current`` (the request's identity) out. A guest is retired: its cart can't be reached
    again without the cookie just cleared. Returns whether a guest was signed out."""
    guest_id = current.id if current is not None and Identity.of(current) is Identity.GUEST else None
    sign_out()
    if guest_id is None:
        return False
    try:
        retire(guest_id)
        db.session.commit()
    except SQLAlchemyError:
        # The sign-out itself worked; the cleanup of idle guests removes the record later.
        db.session.rollback()
        logger.exception("Could not retire anonymous record %s at sign-out", guest_id)
    return True


# ---------------------------------------------------------------------------------------------------
# 8. Retired


def retire(record_id: str, into: AuthRecord | None = None) -> bool:
    """Retire a guest nobody can sign in to any more. Does not commit.

    With no orders it is deleted (its cart goes with it, in the database). With orders it is kept,
    because a paid order is never deleted: it is linked to ``into`` (whose order history then lists
    those orders), its cart is emptied (nobody can see it again) and its token key rotates so no old
    token of it works. Returns whether it was kept.
    """
    deleted = db.session.execute(  # type: ignore[attr-defined]  # a DELETE gives a CursorResult
        statements.DELETE_GUEST_WITHOUT_ORDERS, {"record_id": record_id}
    ).rowcount
    if deleted:
        # The session may hold the record (the request's identity): it is gone, so forget it.
        if (gone := held_by_session(AuthRecord, record_id)) is not None:
            db.session.expunge(gone)
        return False
    record = db.session.get(AuthRecord, record_id)
    if record is None or Identity.of(record) is not Identity.GUEST:
        return False
    if into is not None:
        record.merged_into_id = into.id
    db.session.execute(delete(CartItem).where(CartItem.owner_id == record_id))
    record.rotate_token_key()
    db.session.flush()
    return True


# ---------------------------------------------------------------------------------------------------
# 9. Cleaned up
#
# A guest may go when it is anonymous, belongs to one of the collections cleaned, was last *active*
# (not created) before the cutoff, and owns no order: orders are what shoppers paid for. Carts go
# with the record through the database's ON DELETE CASCADE. storefront.admin.cleanup runs this rule
# in short batches.


def owns_an_order() -> Exists:
    """The record owns at least one order."""
    return exists().where(Order.owner_id == AuthRecord.id)


def idle_guests(collections: list[str] | tuple[str, ...], cutoff: datetime) -> list[ColumnElement[bool]]:
    """Guests of ``collections`` last active before ``cutoff``: the cleanup's candidates, among which
    those that own orders are kept. Written so the database walks ``ix_auth_records_cleanup``."""
    in_collection = (
        AuthRecord.collection == collections[0]
        if len(collections) == 1
        else AuthRecord.collection.in_(collections)
    )
    # ``= true`` rather than ``IS true``: PostgreSQL uses a B-tree index only for the former.
    return [AuthRecord.is_anonymous == true(), in_collection, AuthRecord.last_active_at < cutoff]


def init_app(app: Flask) -> None:
    """Check the settings of a guest's life."""
    check_choice(app, "TRY_BEFORE_YOU_BUY", CREATION_MODES)
    check_choice(app, "GUEST_CHECKOUT_COLLECTION", app.config["AUTH_COLLECTIONS"])
    check_choice(app, "CART_MERGE_POLICY", [policy.value for policy in MergePolicy])
