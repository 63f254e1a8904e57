"""Locust users for scripts/bench.py: one scenario per run, chosen by BENCH_SCENARIO.

scripts/bench.py signs the sessions in beforehand (through /accounts/login/, with its CSRF
token) and hands them over in the JSON file BENCH_DATA names, with the URLs each scenario
asks for. Every request carries `X-Forwarded-Proto: https`, as from the TLS-terminating
proxy that production runs behind (DEBUG=0 sends cookies over HTTPS only).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import socket
import time
from pathlib import Path

import gevent
from geventhttpclient import connectionpool
from locust import FastHttpUser, events, task

SCENARIO = os.environ.get("BENCH_SCENARIO", "bare")
DATA = json.loads(Path(os.environ["BENCH_DATA"]).read_text(encoding="utf-8"))
# Each save of a writer paced to this many per second; 0: as fast as the answers come.
PACE = float(os.environ.get("BENCH_PACE", "0"))
VERSION_RE = re.compile(r'name="version" value="(\d+)"')
_people = itertools.count()
_saves = itertools.count()


def _headers(session: dict) -> dict[str, str]:
    return {
        "X-Forwarded-Proto": "https",
        "Cookie": f"sessionid={session['sessionid']}; csrftoken={session['csrftoken']}",
    }


# geventhttpclient writes a POST's headers and body apart; with Nagle's algorithm and delayed
# ACKs that adds tens of milliseconds to each save that no server could save. Its sockets
# are made with TCP_NODELAY here, as browsers and requests' client make theirs, so writers
# use the same light client as readers (the load generator shares the server's two cores).
_create_tcp_socket = connectionpool.ConnectionPool._create_tcp_socket


def _nodelay(self, family, socktype, protocol):
    sock = _create_tcp_socket(self, family, socktype, protocol)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


connectionpool.ConnectionPool._create_tcp_socket = _nodelay


class Person(FastHttpUser):
    def wait_time(self) -> float:
        if not PACE:
            return 0
        # The next save one interval after this writer's previous one was due.
        self.next_at += 1 / PACE
        return max(0.0, self.next_at - time.perf_counter())

    def on_start(self) -> None:
        n = next(_people)
        self.rng = random.Random(n)
        pool = DATA["writers"] if SCENARIO == "save" else DATA["readers"]
        # A copy: a writer's version moves with its saves.
        self.session = dict(pool[n % len(pool)])
        self.headers = _headers(self.session)
        if PACE and SCENARIO == "save":
            # People save when they are done typing, not on a shared beat: each writer
            # keeps its own moment within the second. (Locust starts a second's users
            # together, and its constant_pacing() measures from that start, so all 20 would
            # otherwise save at the same instant, every second, for the whole run.)
            gevent.sleep(self.rng.uniform(0, 1 / PACE))
        self.next_at = time.perf_counter()

    def _get(self, path: str, name: str, ok=(200,)) -> None:
        with self.client.get(
            path, name=name, headers=self.headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code not in ok:
                response.failure(f"{response.status_code} for {path}")

    @task
    def ask(self) -> None:
        session = self.session
        if SCENARIO == "bare":
            self._get("/bench/bare/", "bare view")
        elif SCENARIO == "board":
            self._get("/board/", "board, first page")
        elif SCENARIO == "board_filtered":
            self._get(self.rng.choice(DATA["filtered_boards"]), "board, filtered")
        elif SCENARIO == "board_needing":
            self._get(self.rng.choice(DATA["needing_boards"]), "board, by needing squad")
        elif SCENARIO == "squads":
            self._get("/squads/", "squads")
        elif SCENARIO == "findings":
            self._get("/findings/", "findings")
        elif SCENARIO == "graph":
            self._get("/board/graph/", "graph")
        elif SCENARIO == "timeline":
            self._get("/timeline/", "timeline")
        elif SCENARIO == "plan":
            # The plans of many squads, the reader's own among them or not.
            self._get(self.rng.choice(DATA["plans"]), "plan page")
        elif SCENARIO == "poll":
            self._get(session["poll"], "no-change poll", ok=(204, 304))
        elif SCENARIO == "save":
            self._save()
        else:
            raise SystemExit(f"unknown scenario {SCENARIO!r}")

    def _save(self) -> None:
        session = self.session
        path = f"/squads/{session['squad']}/plan/section/{session['section']}/edit/"
        number = next(_saves)
        text = (
            f"Day 1: the customer signs up and sees value in minutes (save {number}). "
            f"Week 2: their team works in the product every day."
        )
        with self.client.post(
            path,
            name="section save",
            data={
                "csrfmiddlewaretoken": session["csrftoken"],
                "version": str(session["version"]),
                "text": text,
            },
            headers={
                **self.headers,
                "HX-Request": "true",
                "Referer": f"https://{DATA['host']}/squads/{session['squad']}/plan/",
            },
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for {path}")
                return
            body = response.text or ""
            if 'value="merge"' in body:
                # Someone saved this section since: the conflict view, a correct answer.
                found = VERSION_RE.search(body)
                if found:
                    session["version"] = int(found.group(1))
                events.request.fire(
                    request_type="NOTE",
                    name="conflict view",
                    response_time=0,
                    response_length=0,
                    exception=None,
                    context={},
                )
            else:
                session["version"] += 1
