"""A small load generator: client processes that replay a scenario for a fixed time.

Each client is its own process (the server's workers and the clients share this machine's cores, so
read the ratios between scenarios of one run, not the absolute numbers).
"""

from __future__ import annotations

import http.client
import multiprocessing
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from json import dumps
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


class Session:
    """A browser-like client: keeps cookies, one connection per request (gunicorn's sync workers
    close the connection after each response)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}
        self.latencies: list[float] = []
        self.state: dict[str, Any] = {}
        self.recording = True

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> tuple[int, bytes]:
        sent = {"User-Agent": "Mozilla/5.0 storefront-bench", **(headers or {})}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif json is not None:
            body = dumps(json).encode()
            sent["Content-Type"] = "application/json"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if self.recording:
            self.latencies.append(time.perf_counter() - start)
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if response.status >= 500:
            raise RuntimeError(f"{method} {path} answered {response.status}")
        return response.status, data

    def csrf(self, html: bytes) -> str:
        match = _CSRF.search(html)
        if match is None:
            raise RuntimeError("no CSRF token in the page")
        return match.group(1).decode()


# Scenarios: one iteration each; return nothing, raise on a wrong answer.


def health(s: Session) -> None:
    status, _ = s.request("GET", "/api/health")
    assert status == 200


def catalogue(s: Session) -> None:
    status, _ = s.request("GET", "/")
    assert status == 200


def json_anonymous_sign_in(s: Session) -> None:
    status, _ = s.request("POST", "/api/collections/users/auth-anonymous")
    assert status == 200


def add_to_cart(s: Session) -> None:
    """A shopper whose anonymous account exists already adds one more of a product."""
    if "csrf" not in s.state:
        s.request("POST", "/cart/add", {"csrf_token": s.csrf(s.request("GET", "/")[1]), "product_id": "1"})
        s.state["csrf"] = s.csrf(s.request("GET", "/cart")[1])  # signing in renewed the session
        s.state["adds"] = 0
    token, adds = s.state["csrf"], s.state["adds"]
    s.state["adds"] = adds + 1
    status, _ = s.request("POST", "/cart/add", {"csrf_token": token, "product_id": str(1 + adds % 8)})
    assert status == 302
    if adds % 400 == 399:  # keep every line under the 99-per-product limit
        for product_id in range(1, 9):
            s.request("POST", "/cart/remove", {"csrf_token": token, "product_id": str(product_id)})


def _visitor_with_a_cart(s: Session) -> None:
    """A new visitor who added something to the cart (lazy mode: now an anonymous ``users`` record)
    and, as a browser does, followed the redirect to the cart page, which shows the "Added ..."
    message and gives the new identity's session its CSRF token."""
    s.cookies.clear()
    _, page = s.request("GET", "/")
    status, _ = s.request("POST", "/cart/add", {"csrf_token": s.csrf(page), "product_id": "1"})
    assert status == 302
    status, page = s.request("GET", "/cart")
    assert status == 200 and b"Added" in page


def _checkout_as_guest(s: Session) -> None:
    status, page = s.request("GET", "/checkout")
    assert status == 200 and b"Continue as Guest" in page
    status, _ = s.request("POST", "/checkout", {"csrf_token": s.csrf(page), "action": "guest-checkout"})
    assert status == 302
    status, page = s.request("GET", "/checkout")
    assert status == 200 and b"Place order" in page


def guest_checkout_flow(s: Session) -> None:
    """The guest-checkout flow of a shopper with a cart: the checkout page, Continue as Guest, the
    checkout form. Filling the cart first is preparation, done before the clock starts (see
    ``_client``)."""
    _checkout_as_guest(s)


guest_checkout_flow.prepare = _visitor_with_a_cart  # type: ignore[attr-defined]


def guest_journey(s: Session) -> None:
    """The whole way of a new visitor, all timed: the shop, Add to cart, the cart, then the checkout flow
    (six requests, two anonymous records)."""
    _visitor_with_a_cart(s)
    _checkout_as_guest(s)


SCENARIOS: dict[str, Callable[[Session], None]] = {
    "health": health,
    "catalogue": catalogue,
    "add_to_cart": add_to_cart,
    "json_anonymous_sign_in": json_anonymous_sign_in,
    "guest_checkout_flow": guest_checkout_flow,
    "guest_journey": guest_journey,
}


@dataclass
class Result:
    scenario: str
    rate: float  # iterations per second
    latencies: list[float]

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


Scenario = Callable[[Session], None]


# Visitors prepared per client and per second of the timed phase: a client replays the checkout flow
# about 30 times a second here, so it never runs out (if it did, it would stop its clock early).
PREPARED_PER_SECOND = 80

_start_together: Any = None  # the clients' Barrier, inherited by each client process


def _init_client(barrier: Any) -> None:
    global _start_together
    _start_together = barrier


def _client(args: tuple[str, Scenario, float]) -> tuple[int, float, list[float]]:
    """One client process: replay ``run`` until ``duration`` seconds of it have been timed.

    A scenario may have a ``prepare`` step that puts a new visitor in the state it starts from (a
    cart filled before the checkout flow). Each client prepares its visitors first; then all clients
    wait for each other and start the clock together, so the server's work while the clock runs is
    the scenario's own requests and nothing else."""
    base_url, run, duration = args
    prepare: Scenario | None = getattr(run, "prepare", None)
    if prepare is None:
        visitors = [Session(base_url)]  # one visitor replays the scenario
    else:
        visitors = [Session(base_url) for _ in range(1 + int(duration * PREPARED_PER_SECOND))]
        for visitor in visitors:
            visitor.recording = False
            prepare(visitor)
            visitor.recording = True
    run(visitors[0])  # warm up: first connections, first account
    if prepare is not None:
        visitors.pop(0)  # a prepared visitor goes through the scenario once
    else:
        visitors[0].latencies.clear()
    _start_together.wait()
    iterations, timed = 0, 0.0
    while timed < duration and (prepare is None or iterations < len(visitors)):
        session = visitors[0] if prepare is None else visitors[iterations]
        start = time.perf_counter()
        run(session)
        timed += time.perf_counter() - start
        iterations += 1
    return iterations, timed, [value for visitor in visitors for value in visitor.latencies]


def drive(base_url: str, scenario: Scenario, duration: float, clients: int) -> Result:
    """Run ``clients`` processes replaying ``scenario`` for ``duration`` timed seconds each; the rate is
    the sum of the clients' rates."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients)
    with context.Pool(clients, initializer=_init_client, initargs=(barrier,)) as pool:
        results = pool.map(_client, [(base_url, scenario, duration)] * clients)
    rate = sum(count / timed for count, timed, _ in results)
    latencies = [value for _, _, values in results for value in values]
    return Result(scenario.__name__, rate, latencies)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
