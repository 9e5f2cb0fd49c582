"""Locust users for ``bench/load.py``: people who sign in, browse backlogs and items, move
items (product owners) and vote (business voters), each over plain HTTP as the browser does.

Run by ``bench/load.py`` as ``locust -f bench/_load_locustfile.py --headless``. It reads
its accounts from the JSON file named by ``LOAD_CONFIG`` and writes what happened (the
statistics of the measured window and every move and ballot it sent, with the server's
answer) to the file named by ``LOAD_RESULT``, for the checks against the database.

The measured window starts once every user has signed in (sign-in runs PBKDF2 on purpose,
so sign-ins are measured apart, a few at a time) and lasts ``duration`` seconds.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import time
from pathlib import Path

import gevent
from gevent.lock import BoundedSemaphore
from locust import FastHttpUser, between, events, task

CONFIG = json.loads(Path(os.environ["LOAD_CONFIG"]).read_text(encoding="utf-8"))
_accounts = iter(CONFIG["accounts"])
# Sign-in runs PBKDF2 (about 0.3 s of CPU) on purpose. People arrive a few at a time rather
# than all in one second, so a storm of sign-ins does not queue past the timeouts.
_signing_in = BoundedSemaphore(CONFIG.get("concurrent_sign_ins", 3))
_state: dict = {"signed_in": 0, "window_start": None, "sign_in": None}
MOVES: list[dict] = []
BALLOTS: list[dict] = []

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
ROW = re.compile(r'<tr data-item-id="(\d+)"')
# Rows with a drag handle and a Move menu: open items (a closed item's move is refused).
MOVABLE = re.compile(r'<tr data-item-id="(\d+)"[^>]*\bdata-movable')
LISTING = re.compile(r'name="listing" value="([^"]*)"')
ORDER_MESSAGE = re.compile(r'hx-swap-oob="innerHTML:#order-status">(.*?)</span>', re.S)
CANDIDATE = re.compile(r'name="rank-(\d+)"')


def _answer(response) -> str:
    """The status, or why there was none (a timeout, a refused connection)."""
    return str(response.status_code or getattr(response, "error", None) or "no answer")


def _entry_summary(entry) -> dict:
    return {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "p50": entry.get_response_time_percentile(0.5),
        "p95": entry.get_response_time_percentile(0.95),
        "p99": entry.get_response_time_percentile(0.99),
        "max": entry.max_response_time,
        "mean": round(entry.avg_response_time, 1),
    }


def _all_signed_in(environment) -> None:
    """Everyone is in: keep the sign-in figures, start the measured window, and end the
    run ``duration`` seconds later."""
    stats = environment.runner.stats
    _state["sign_in"] = {
        "seconds": round(time.time() - _state["first_start"], 1),
        **_entry_summary(stats.get("sign in", "POST")),
        "failures_before_window": stats.total.num_failures,
        "errors_before_window": [
            {"name": e.name, "error": str(e.error), "count": e.occurrences}
            for e in stats.errors.values()
        ],
    }
    stats.reset_all()
    _state["window_start"] = time.time()
    gevent.spawn_later(CONFIG["duration"], environment.runner.quit)


@events.quitting.add_listener
def _write_result(environment, **_kwargs) -> None:
    stats = environment.runner.stats
    end = time.time()
    start = _state["window_start"]
    result = {
        "users": CONFIG["users"],
        "signed_in": _state["signed_in"],
        "sign_in": _state["sign_in"],
        "window_seconds": round(end - start, 2) if start else None,
        "window": [start, end],
        "total": _entry_summary(stats.total),
        "endpoints": {
            f"{e.method} {e.name}": _entry_summary(e)
            for e in sorted(stats.entries.values(), key=lambda e: e.name)
        },
        "errors": [
            {"name": e.name, "error": str(e.error), "count": e.occurrences}
            for e in stats.errors.values()
        ],
        "moves": MOVES,
        "ballots": BALLOTS,
    }
    with open(os.environ["LOAD_RESULT"], "w", encoding="utf-8") as out:
        json.dump(result, out)


class Person(FastHttpUser):
    """One signed-in colleague. Product owners move items; business voters vote."""

    host = CONFIG["host"]
    wait_time = between(0.5, 1.5)  # a person reading, not a script hammering
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        _state.setdefault("first_start", time.time())
        self.account = next(_accounts)
        self.product = self.account["product"]
        self.rows: list[int] = []
        self.movable: list[int] = []
        self.listing = ""
        self.token = ""
        with _signing_in:
            self._sign_in()
        _state["signed_in"] += 1
        if _state["signed_in"] == CONFIG["users"]:
            _all_signed_in(self.environment)

    def _sign_in(self) -> None:
        form = self.client.get("/accounts/login/", name="sign in form")
        token = CSRF_FIELD.search(form.text or "")
        with self.client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "username": self.account["username"],
                "password": self.account["password"],
            },
            name="sign in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {_answer(response)}")

    # Browsing -----------------------------------------------------------------------------

    def _read_backlog(self, text: str) -> None:
        self.rows = [int(pk) for pk in ROW.findall(text)]
        self.movable = [int(pk) for pk in MOVABLE.findall(text)]
        listing = LISTING.search(text)
        self.listing = html.unescape(listing.group(1)) if listing else self.listing
        token = CSRF_HEADER.search(text) or CSRF_FIELD.search(text)
        self.token = token.group(1) if token else self.token

    @task(4)
    def backlog_page(self) -> None:
        with self.client.get(
            f"/products/{self.product}/", name="backlog page", catch_response=True
        ) as response:
            if response.status_code == 200:
                self._read_backlog(response.text)
                if not self.rows:
                    response.failure("the backlog page showed no items")

    @task(3)
    def item_page(self) -> None:
        if not self.rows:
            return self.backlog_page()
        self.client.get(f"/items/{random.choice(self.rows)}/", name="item page")

    @task(2)
    def act(self) -> None:
        if self.account["role"] == "owner":
            self._move()
        else:
            self._vote()

    # Moving (as backlog-order.js and each row's Move menu send it) ------------------------

    def _move(self) -> None:
        if len(self.rows) < 3 or not self.movable:
            return self.backlog_page()
        rows = self.rows
        item = random.choice(self.movable)
        values: dict = {"to": "", "position": ""}
        kind = random.random()
        if kind < 0.5:  # drag and drop: the neighbours where it was dropped, as seen
            others = [pk for pk in rows if pk != item]
            at = random.randint(0, len(others))
            values.update(
                to="between",
                before_id=str(others[at - 1]) if at > 0 else "",
                after_id=str(others[at]) if at < len(others) else "",
                shown=str(len(rows)),
            )
        elif kind < 0.85:  # keyboard on the row's handle
            values.update(
                to=random.choice(["up", "up", "down", "down", "top", "bottom"]),
                shown=str(len(rows)),
            )
        else:  # the row's Move menu: a position typed in
            values.update(to="position", position=str(random.randint(1, len(rows) + 5)))
        record = {
            "user": self.account["username"],
            "product": self.product,
            "item": item,
            "to": values["to"],
            "before_id": int(values["before_id"]) if values.get("before_id") else None,
            "after_id": int(values["after_id"]) if values.get("after_id") else None,
            "position": int(values["position"]) if values["position"] else None,
            "outcome": "failed",
        }
        MOVES.append(record)
        with self.client.post(
            f"/items/{item}/move/",
            data={"csrfmiddlewaretoken": self.token, "listing": self.listing, **values},
            headers={
                "HX-Request": "true",
                "HX-Target": "backlog-results",
                "HX-Current-URL": f"{self.host}/products/{self.product}/",
                "X-CSRFToken": self.token,
            },
            name="move",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"move answered {_answer(response)}")
                return
            text = response.text or ""
            message = ORDER_MESSAGE.search(text)
            if message is None:
                response.failure("move answered without a message")
                return
            said = message.group(1)
            if "error-text" in said:
                record["outcome"] = "refused"  # a stale view, said so; nothing written
            elif "is already" in said:
                record["outcome"] = "already"
            elif "Moved" in said:
                record["outcome"] = "moved"
            else:
                response.failure(f"move answered {said!r}")
                return
            self.rows = [int(pk) for pk in ROW.findall(text)] or self.rows
            self.movable = [int(pk) for pk in MOVABLE.findall(text)] or self.movable

    # Voting (the ranked ballot form: a position per item, blanks unranked) ----------------

    def _vote(self) -> None:
        url = f"/rounds/{self.account['round']}/ballot/"
        form = self.client.get(url, name="ballot page")
        if form.status_code != 200:
            return
        candidates = [int(pk) for pk in dict.fromkeys(CANDIDATE.findall(form.text or ""))]
        token = CSRF_FIELD.search(form.text or "")
        if len(candidates) < 2 or token is None:
            return
        chosen = random.sample(candidates, k=random.randint(2, len(candidates)))
        positions = {pk: n for n, pk in enumerate(chosen, start=1)}
        if len(chosen) > 2 and random.random() < 0.2:  # now and then a tie
            positions[chosen[-1]] = positions[chosen[-2]]
        tiers: dict[int, list[int]] = {}
        for pk, position in positions.items():
            tiers.setdefault(position, []).append(pk)
        record = {
            "user": self.account["username"],
            "round": self.account["round"],
            "ranking": [sorted(tiers[p]) for p in sorted(tiers)],
            "outcome": "failed",
        }
        BALLOTS.append(record)
        data = {"csrfmiddlewaretoken": token.group(1)}
        data.update({f"rank-{pk}": str(positions.get(pk, "")) for pk in candidates})
        with self.client.post(
            url, data=data, name="ballot submit", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"ballot answered {_answer(response)}")
                return
            record["outcome"] = "saved"
        self.client.get(url, name="ballot page")  # the browser follows the redirect
