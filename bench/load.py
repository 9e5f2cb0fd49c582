"""Load: people signed in at once on gunicorn, PostgreSQL, Redis and a Celery worker.

Locust (headless) signs in N people through the sign-in form, then for ``duration`` seconds
they browse backlog and item pages, product owners move items as the page does (drag,
keyboard and the Move menu, as htmx requests) and business voters submit ranked ballots.
Full size: 100 and then 200 people for 60 s each; --quick: 20 people for 10 s.

Rows per run: requests per second, p50/p95/p99 (ms), errors (any answer other than the
expected one, or no answer) and ``lost``: acknowledged writes missing from the database
afterwards. A move is checked twice: every move the server acknowledged must have its
history row, and replaying the product's history rows in order (moves in one product take
turns under the product lock, so the rows' ids give the order they were applied in) from
the order before the run must give exactly the order in the database after it. A voter's
stored ballot must be their last acknowledged one, with one revision per acknowledged
ballot. Target: 0 errors and 0 lost at 200 people; an error or a loss fails the run (and CI)
once its rows are printed. Also printed: gunicorn's CPU time per request and the share of
the machine's CPU that gunicorn, PostgreSQL, the worker, locust and everything else took in
the window, which says what bounds p95 (on 2 cores: the CPU per request).

Needs PostgreSQL (``DATABASE_URL``) and Redis (``REDIS_URL``); the benchmark creates and
drops its own database beside the one named, and serves on a free port of 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from bench._util import row

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "_load_locustfile.py"
SETTINGS = "bench._load_settings"
# gthread: a thread waiting on PostgreSQL does not hold a whole process, and 3 processes
# keep both cores busy while one of them is in the GIL.
GUNICORN = ["--workers", "3", "--worker-class", "gthread", "--threads", "4", "--timeout", "30"]
ITEMS_PER_PRODUCT = (1000, 600, 400, 300)
OWNER_EVERY = 4  # one person in four is a product owner who moves items; the rest vote
SHORTLIST = 10


def run(quick: bool) -> Iterable[dict]:
    phases, duration = ([20], 10) if quick else ([100, 200], 60)
    database_url, redis_url = _services()
    os.environ.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="0",  # plain HTTP on the loopback address
        ALLOWED_HOSTS="127.0.0.1",
        REDIS_URL=redis_url,
    )
    from bench._django import bench_database

    with bench_database() as vendor:
        from django.db import connection

        served_url = urlsplit(database_url)._replace(path="/" + connection.settings_dict["NAME"])
        seed = _seed(people=max(phases))
        env = {**os.environ, "DATABASE_URL": served_url.geturl()}
        problems: list[str] = []
        with _servers(env, connection.settings_dict["NAME"]) as servers:
            for people in phases:
                yield from _phase(people, duration, seed, servers, vendor, problems)
    if problems:
        # An error or a lost write is a wrong answer, not a slow one: stop the run (and CI).
        raise SystemExit("bench load: " + "; ".join(problems))


def _services() -> tuple[str, str]:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if urlsplit(database_url).scheme not in {"postgres", "postgresql"} or not redis_url:
        raise SystemExit(
            "bench load needs PostgreSQL and Redis, as in production: set DATABASE_URL="
            "postgres://… and REDIS_URL=redis://… (it creates and drops its own database)."
        )
    return database_url, redis_url


# Data ---------------------------------------------------------------------------------------


def _seed(*, people: int) -> dict:
    """An organisation with products of a few hundred to a thousand items, estimated and
    scored, each with an open voting round on its top items; ``people`` members, one in
    four a product owner and the rest business voters, spread over the products."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from backlog import ordering
    from backlog.models import BacklogItem, ItemStatus, ProductRoleKind
    from backlog.services import product_create, product_role_grant
    from bench._django import _analyze
    from customers.services import membership_create, organisation_create
    from prioritisation.models import BenefitEstimate, BenefitMetric
    from prioritisation.services import round_create, scores_recompute

    rng = random.Random(20240901)
    organisation = organisation_create(name="Load test council")
    cohorts = list(organisation.cohorts.order_by("name"))
    metrics = list(BenefitMetric.objects.filter(organisation=organisation))
    password = secrets.token_urlsafe(16)
    hashed = make_password(password)  # once: PBKDF2 per person would take minutes
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        user_model(
            username=f"load-{'owner' if i % OWNER_EVERY == 0 else 'voter'}-{i:03d}",
            first_name="Load",
            last_name=f"Person {i}",
            password=hashed,
        )
        for i in range(people)
    )
    for i, user in enumerate(users):
        membership_create(user=user, organisation=organisation, cohort=cohorts[i % len(cohorts)])

    statuses = [ItemStatus.IDEA, ItemStatus.READY, ItemStatus.READY, ItemStatus.IN_PROGRESS]
    statuses += [ItemStatus.DONE]
    through = BacklogItem.cohorts.through
    products, rounds = [], {}
    now = timezone.now()
    for number, size in enumerate(ITEMS_PER_PRODUCT, start=1):
        product = product_create(organisation=organisation, name=f"Load product {number}")
        products.append(product)
        keys = ordering.spread_keys(size)
        items = BacklogItem.objects.bulk_create(
            BacklogItem(
                product=product,
                title=f"Item {i} of product {number}: let residents do something online",
                effort=Decimal(rng.choice([1, 2, 3, 5, 8, 13])),
                status=statuses[i % len(statuses)],
                rank_key=keys[i],
            )
            for i in range(size)
        )
        through.objects.bulk_create(
            through(backlogitem_id=item.pk, cohort_id=cohort.pk)
            for item in items
            for cohort in rng.sample(cohorts, k=rng.choice([1, 1, 2]))
        )
        BenefitEstimate.objects.bulk_create(
            BenefitEstimate(
                item=item,
                cohort=cohort,
                metric=metric,
                value=Decimal(rng.randint(1, 500)),
                confidence=rng.choice(["high", "medium", "low"]),
            )
            for item in items
            for cohort in rng.sample(cohorts, k=rng.choice([1, 2]))
            for metric in rng.sample(metrics, k=rng.choice([1, 2]))
        )
        scores_recompute(product_id=product.pk)
    owners = {}
    for i, user in enumerate(users):
        product = _product_of(i, products)
        if i % OWNER_EVERY == 0:
            product_role_grant(product=product, user=user, role=ProductRoleKind.PRODUCT_OWNER)
            owners.setdefault(product.pk, user)
        else:
            product_role_grant(product=product, user=user, role=ProductRoleKind.BUSINESS_VOTER)
    for product in products:
        rounds[product.pk] = round_create(
            product=product,
            actor=owners.get(product.pk),
            title=f"What should {product.name} build next?",
            method="schulze",
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=1),
            shortlist_size=SHORTLIST,
        ).pk
    _analyze()
    accounts = []
    for i, user in enumerate(users):
        product = _product_of(i, products)
        accounts.append(
            {
                "username": user.username,
                "password": password,
                "role": "owner" if i % OWNER_EVERY == 0 else "voter",
                "product": product.pk,
                "round": rounds[product.pk],
            }
        )
    return {"accounts": accounts, "products": [p.pk for p in products]}


def _product_of(person: int, products: list):
    """People in groups of ``OWNER_EVERY`` (an owner and voters) take the products in turn,
    so every product has owners and voters among the first N people."""
    return products[(person // OWNER_EVERY) % len(products)]


# Processes ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Servers:
    host: str
    gunicorn: subprocess.Popen
    worker: subprocess.Popen
    database: str


@contextlib.contextmanager
def _servers(env: dict, database: str) -> Iterator[Servers]:
    """gunicorn and a Celery worker, stopped whatever happens."""
    port = _free_port()
    host = f"http://127.0.0.1:{port}"
    logs = tempfile.TemporaryDirectory(prefix="bench-load-")
    started: list[subprocess.Popen] = []
    try:
        for name, command in (
            (
                "gunicorn",
                ["-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
                + GUNICORN
                + ["--log-level", "warning"],
            ),
            (
                "worker",
                ["-m", "celery", "-A", "config", "worker", "--loglevel", "warning"]
                + ["--concurrency", "1", "--hostname", f"bench-load-{os.getpid()}@%h"],
            ),
        ):
            log = open(Path(logs.name) / f"{name}.log", "wb")  # noqa: SIM115 - closed below
            started.append(
                subprocess.Popen(
                    [sys.executable, *command],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, so all of it stops
                )
            )
            log.close()
        _wait_until_serving(host, started[0], Path(logs.name) / "gunicorn.log")
        yield Servers(host, started[0], started[1], database)
    except BaseException:
        for name in ("gunicorn", "worker"):
            path = Path(logs.name) / f"{name}.log"
            if path.exists():
                sys.stderr.write(f"--- {name} log (last lines)\n")
                sys.stderr.write("\n".join(path.read_text(errors="replace").splitlines()[-30:]))
                sys.stderr.write("\n")
        raise
    finally:
        for process in started:
            _stop(process)
        logs.cleanup()


def _wait_until_serving(host: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{host}/accounts/login/", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer on {host} within 60 s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def _locust(people: int, duration: int, seed: dict, servers: Servers) -> tuple[dict, dict]:
    """Run locust; returns its result and where the machine's CPU went meanwhile."""
    accounts = seed["accounts"][:people]
    spawn_rate = max(5, people // 10)  # sign-ins then queue in the locust file, a few at once
    cap = duration + 120 + 3 * people  # a hard stop, should sign-in never finish
    with tempfile.TemporaryDirectory(prefix="bench-load-") as work:
        config, result = Path(work) / "config.json", Path(work) / "result.json"
        config.write_text(
            json.dumps(
                {"host": servers.host, "users": people, "duration": duration, "accounts": accounts}
            )
        )
        env = {**os.environ, "LOAD_CONFIG": str(config), "LOAD_RESULT": str(result)}
        with open(Path(work) / "locust.log", "w+") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
                + ["--users", str(people), "--spawn-rate", str(spawn_rate)]
                + ["--run-time", f"{cap}s", "--host", servers.host, "--only-summary"]
                + ["--loglevel", "WARNING", "--exit-code-on-error", "0"]
                # At the end, each person finishes the request in flight (counted), so the
                # cut-off is not reported as errors, nor a move as lost.
                + ["--stop-timeout", "60"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            sampler = CpuSampler(servers, process)
            sampler.start()
            try:
                process.wait(timeout=cap + 60)
            finally:
                sampler.stop()
                _stop(process)
            if process.returncode != 0 or not result.exists():
                log.seek(0)
                sys.stderr.write(log.read()[-5000:])
                raise RuntimeError(f"locust exited with {process.returncode}")
        answer = json.loads(result.read_text())
    start, end = answer["window"]
    return answer, sampler.share(start, end) if start else {}


class CpuSampler(threading.Thread):
    """CPU seconds of gunicorn, PostgreSQL (this database's backends), the Celery worker,
    locust and the whole machine, once a second: what the server spends per request, and
    how much of the machine others (other tests on a shared CI machine) took meanwhile."""

    def __init__(self, servers: Servers, locust: subprocess.Popen) -> None:
        super().__init__(daemon=True)
        self.servers, self.locust = servers, locust
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append((time.time(), self._sample()))
            self._done.wait(1.0)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)

    def _sample(self) -> dict[str, float]:
        import psutil

        def tree(pid: int) -> list:
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                return [root, *root.children(recursive=True)]
            return []

        groups = {
            "gunicorn": tree(self.servers.gunicorn.pid),
            "worker": tree(self.servers.worker.pid),
            "locust": tree(self.locust.pid),
            "postgres": [
                p
                for p in psutil.process_iter(["cmdline"])
                if p.info["cmdline"]
                and p.info["cmdline"][0].startswith("postgres:")
                and f" {self.servers.database} " in p.info["cmdline"][0]
            ],
        }
        seconds = {}
        for name, processes in groups.items():
            total = 0.0
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system
            seconds[name] = total
        machine = psutil.cpu_times()
        seconds["machine"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return seconds

    def share(self, start: float, end: float) -> dict:
        """Per cent of the machine's cores each took between ``start`` and ``end``."""
        import psutil

        # Strictly inside: once the window ends, locust exits and its CPU time goes with it.
        inside = [(t, s) for t, s in self.samples if start <= t <= end]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        capacity = (t1 - t0) * (psutil.cpu_count() or 1)
        used = {name: max(last[name] - first[name], 0.0) for name in first}
        share = {name: round(100 * value / capacity, 1) for name, value in used.items()}
        ours = sum(v for k, v in share.items() if k != "machine")
        share["others"] = round(max(share["machine"] - ours, 0.0), 1)
        return {"percent_of_machine": share, "cpu_seconds": used, "seconds": round(t1 - t0, 1)}


# One run and its checks ---------------------------------------------------------------------


def _wait_until_idle(database: str, *, timeout: float = 60.0) -> None:
    """Until no other session of this database is running a statement or holding a
    transaction open, twice in a row: a request the load left in gunicorn's queue must
    not commit after the snapshot it belongs before."""
    from django.db import connection

    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2 and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() AND state <> 'idle'",
                [database],
            )
            busy = cursor.fetchone()[0]
        quiet = 0 if busy else quiet + 1
        time.sleep(0.5)


def _state(seed: dict) -> dict:
    """Orders, move history and ballots, read from one snapshot so they agree."""
    from django.db import connection, transaction

    from backlog.models import OPEN_STATUSES, BacklogItem, ItemEvent, ItemEventKind
    from prioritisation.models import Ballot

    usernames = [a["username"] for a in seed["accounts"]]
    # One snapshot (a test's own transaction is one already; SQLite is serialisable).
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        orders = {
            pk: list(
                BacklogItem.objects.filter(product_id=pk)
                .order_by("rank_key")
                .values_list("pk", flat=True)
            )
            for pk in seed["products"]
        }
        # Closed items have no manual rank: moves step over them (and are refused for them).
        closed = list(
            BacklogItem.objects.filter(product_id__in=seed["products"])
            .exclude(status__in=OPEN_STATUSES)
            .values_list("pk", flat=True)
        )
        events = [
            {
                "id": pk,
                "item": item,
                "product": product,
                "user": user,
                "to": data.get("to"),
                "position": data.get("position"),
            }
            for pk, item, product, user, data in ItemEvent.objects.filter(
                kind=ItemEventKind.MOVED, item__product_id__in=seed["products"]
            )
            .order_by("pk")
            .values_list("pk", "item_id", "item__product_id", "actor__username", "data")
        ]
        ballots = {
            user: {"ranking": [sorted(tier) for tier in ranking], "revisions": revisions}
            for user, ranking, revisions in Ballot.objects.filter(
                voter__username__in=usernames
            ).values_list("voter__username", "ranking", "revisions")
        }
    return {"orders": orders, "closed": closed, "events": events, "ballots": ballots}


def _apply(order: list[int], move: dict, closed: frozenset[int] = frozenset()) -> None:
    """One move as ``backlog.services.order.item_move`` makes it, on a list of item ids.
    Ranks, up, down, top and bottom count open items only (``closed`` ids are stepped over)."""
    item, to = move["item"], move["to"]
    at = order.index(item)
    others = order[:at] + order[at + 1 :]
    opened = [i for i, pk in enumerate(others) if pk not in closed]  # indexes in others
    above = [i for i in opened if i < at]  # open items above the item
    if to == "between":
        order.pop(at)
        if move.get("before_id") is not None:  # right after the item above it
            order.insert(order.index(move["before_id"]) + 1, item)
        else:
            order.insert(order.index(move["after_id"]), item)
        return
    if to == "up":
        if above:
            order[:] = others[: above[-1]] + [item] + others[above[-1] :]
        return
    if to == "down":
        below = opened[len(above) :]
        if below:
            order[:] = others[: below[0] + 1] + [item] + others[below[0] + 1 :]
        return
    rank = 1 if to == "top" else move["position"] if to == "position" else len(opened) + 1
    if rank <= len(opened):
        if len(above) == rank - 1:
            return  # already at that rank
        target = opened[rank - 1]
        order[:] = others[:target] + [item] + others[target:]
    elif opened and len(above) < len(opened):  # to the bottom: right after the last open item
        order[:] = others[: opened[-1] + 1] + [item] + others[opened[-1] + 1 :]


def _check_moves(sent: list[dict], before: dict, after: dict) -> dict:
    """Acknowledged moves without a history row are lost; the history replayed over the
    order before must give the order after. A move whose answer never came (``failed``)
    may or may not have been made: its history row, if any, is replayed with what was
    sent."""
    seen = {e["id"] for e in before["events"]}
    events = [e for e in after["events"] if e["id"] not in seen]
    by_user = defaultdict(list)
    for event in events:
        by_user[event["user"]].append(event)
    sent_with = {}  # event id -> the request that made it
    lost = 0
    attempts = defaultdict(list)
    for move in sent:
        if move["outcome"] in {"moved", "failed"}:
            attempts[move["user"]].append(move)
    for user, moves in attempts.items():
        # One person's requests are sequential, so their history rows come in the order of
        # their moves; a row no move of theirs explains is skipped, not matched to the next.
        queue, at = by_user.get(user, []), 0
        for move in moves:
            found = next(
                (
                    i
                    for i in range(at, len(queue))
                    if (queue[i]["item"], queue[i]["to"]) == (move["item"], move["to"])
                ),
                None,
            )
            if found is not None:
                sent_with[queue[found]["id"]] = move
                at = found + 1
            elif move["outcome"] == "moved":
                lost += 1
    misplaced, products_differing, unexplained = 0, 0, 0
    for product, order in before["orders"].items():
        replayed = list(order)
        for event in (e for e in events if e["product"] == product):
            move = sent_with.get(event["id"])
            if move is None:
                unexplained += 1
                if event["to"] == "between":
                    continue  # the neighbours are not in the row: cannot replay it
                move = event
            _apply(replayed, move, frozenset(before.get("closed", ())))
        actual = after["orders"][product]
        if replayed != actual:
            products_differing += 1
            misplaced += sum(1 for a, b in zip(replayed, actual, strict=True) if a != b)
    outcomes = defaultdict(int)
    for move in sent:
        outcomes[move["outcome"]] += 1
    return {
        "lost": lost,
        "misplaced": misplaced,
        "products_differing": products_differing,
        "unexplained_history_rows": unexplained,
        "history_rows": len(events),
        **{f"moves_{k}": v for k, v in sorted(outcomes.items())},
    }


def _check_ballots(sent: list[dict], before: dict, after: dict) -> dict:
    """Each voter's stored ballot is their last acknowledged one (or a later one whose
    answer never came), with at least one revision per acknowledged ballot."""
    by_user = defaultdict(list)
    for ballot in sent:
        by_user[ballot["user"]].append(ballot)
    lost = acknowledged = 0
    for user, ballots in by_user.items():
        saved = [i for i, b in enumerate(ballots) if b["outcome"] == "saved"]
        if not saved:
            continue
        acknowledged += len(saved)
        stored = after["ballots"].get(user)
        expected = [b["ranking"] for b in ballots[saved[-1] :]]
        wrong = stored is None or stored["ranking"] not in expected
        revisions_before = before["ballots"].get(user, {"revisions": 0})["revisions"]
        short = revisions_before + len(saved) - (stored["revisions"] if stored else 0)
        lost += max(short, 1 if wrong else 0, 0)
    return {"lost": lost, "acknowledged": acknowledged, "sent": len(sent)}


def _phase(
    people: int, duration: int, seed: dict, servers: Servers, vendor: str, problems: list[str]
) -> Iterator[dict]:
    _wait_until_idle(servers.database)
    before = _state(seed)
    result, cpu = _locust(people, duration, seed, servers)
    _wait_until_idle(servers.database)
    after = _state(seed)
    moves = _check_moves(result["moves"], before, after)
    ballots = _check_ballots(result["ballots"], before, after)
    total, window = result["total"], result["window_seconds"]
    endpoints = {k: v for k, v in result["endpoints"].items() if v["requests"]}
    if window is None:
        raise RuntimeError(f"only {result['signed_in']} of {people} people could sign in")
    sign_in = result["sign_in"]
    errors = total["failures"] + sign_in["failures_before_window"]
    lost = moves["lost"] + moves["misplaced"] + ballots["lost"]
    name = f"load_{people}_users"
    common = {"users": people, "seconds": window, "database": vendor}
    yield row(
        f"{name}_throughput",
        total["requests"] / window,
        "req/s",
        requests=total["requests"],
        gunicorn=" ".join(GUNICORN),
        celery_worker_alive=servers.worker.poll() is None,
        **common,
    )
    yield row(
        f"{name}_p95",
        total["p95"],
        "ms",
        p50=total["p50"],
        p99=total["p99"],
        max=round(total["max"]),
        p95_by_request={k: v["p95"] for k, v in endpoints.items()},
        p50_by_request={k: v["p50"] for k, v in endpoints.items()},
        requests_by_request={k: v["requests"] for k, v in endpoints.items()},
        **common,
    )
    used = cpu.get("cpu_seconds", {})
    per_request = {k: 1000 * v / max(total["requests"], 1) for k, v in used.items()}
    yield row(
        f"{name}_server_cpu",
        per_request.get("gunicorn", 0.0),
        "ms/request",
        what="gunicorn CPU time per request in the window; the rest is where the machine went",
        postgres_ms_per_request=round(per_request.get("postgres", 0.0), 2),
        percent_of_machine=cpu.get("percent_of_machine"),
        **common,
    )
    yield row(
        f"{name}_sign_in",
        sign_in["seconds"],
        "s",
        what="time until every person had signed in (PBKDF2 per sign-in, on purpose)",
        p50=sign_in["p50"],
        p95=sign_in["p95"],
        **common,
    )
    yield row(
        f"{name}_errors",
        errors,
        "requests",
        target=0,
        meets_target=errors == 0,
        errors=result["errors"] + sign_in["errors_before_window"],
        **common,
    )
    yield row(
        f"{name}_lost",
        lost,
        "writes",
        target=0,
        meets_target=lost == 0,
        moves=moves,
        ballots=ballots,
        **common,
    )
    if errors:
        problems.append(f"{people} people: {errors} errors")
    if lost or moves["products_differing"]:
        problems.append(f"{people} people: writes lost: moves {moves}, ballots {ballots}")
