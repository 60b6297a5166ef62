"""Agenda routing: a 50-item, 12-participant case meeting, routed and rendered per participant.

    python bench/agenda_bench.py [--items 50] [--participants 12] [--rounds 7]
                                 [--out bench/results/agenda.json]

Builds the meeting in a temporary SQLite database (cases spread over every step, case managers
and assigned partners rotating, two persons per case) and times, per round:

* ``routing_cold``: the RIEC's routing preview with an empty routing cache: loading the agenda,
  one batched policy evaluation for every (participant, case state), the participant x item
  matrix;
* ``routing_warm``: the same with the cache filled by an earlier round (a republication);
* ``publish_cold``: publishing with an empty routing cache: every participant's view routed,
  rendered and compared with what it was last sent (the first round also queues the twelve
  views in the outbox; later rounds find nothing changed and queue nothing).

Twelve participants: the covenant's ten parties and two registered partners that are no party
(the policy hides everything from them, but they are routed like everyone else).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway import db
from gateway.cases.interfaces import ACTIVE_ASSIGNMENT_STATES, STEPS_WITH_ASSIGNMENT, alias
from gateway.cases.models import Case, CaseAssignment, CaseSubject
from gateway.container import Container, build_container
from gateway.exchange.interfaces import PROCESS_STEPS
from gateway.keys import Keyring
from gateway.meetings.models import AgendaItem, Meeting, MeetingParticipant
from gateway.meetings.routing import AgendaRouter
from gateway.ports import Caller
from gateway.settings import Settings

COVENANT = "riec-rr-mensenhandel"
RIEC = "riec-rotterdam-rijnmond"
MUNICIPALITIES = ("gemeente-vlaardingen", "gemeente-rotterdam", "gemeente-schiedam")
EXECUTORS = ("politie-rotterdam", "gemeente-rotterdam", "arbeidsinspectie", "ind")
NON_PARTIES = ("woningcorporatie-waterweg", "woningcorporatie-maasoever")


def _participants(container: Container, count: int) -> list[str]:
    document = container.bundle.data["ketenpoort"]["covenants"][COVENANT]
    parties = [party["partner"] for party in document["parties"]]
    return (parties + list(NON_PARTIES))[:count]


def build_meeting(container: Container, items: int, participants: list[str]) -> str:
    meeting_id = str(uuid.uuid4())
    with db.transaction(container.session_factory) as session:
        session.add(Meeting(id=meeting_id, covenant=COVENANT, regie=RIEC,
                            held_on=date(2026, 12, 3),
                            state="draft", version=0))
        session.add_all(MeetingParticipant(meeting_id=meeting_id, partner=p)
                        for p in participants)
        for position in range(items):
            case_id = str(uuid.uuid4())
            step = PROCESS_STEPS[position % len(PROCESS_STEPS)]
            session.add(Case(id=case_id, covenant=COVENANT, step=step, regie=RIEC,
                             case_manager=MUNICIPALITIES[position % len(MUNICIPALITIES)]))
            session.flush()
            session.add_all(CaseSubject(case_id=case_id, subject_id=str(uuid.uuid4()),
                                        role=role, alias=alias(index), position=index)
                            for index, role in enumerate(("slachtoffer", "dader")))
            if step in STEPS_WITH_ASSIGNMENT:
                session.add(CaseAssignment(
                    id=str(uuid.uuid4()), case_id=case_id,
                    partner=EXECUTORS[position % len(EXECUTORS)], intervention="aanpak",
                    priority="normaal", state=sorted(ACTIVE_ASSIGNMENT_STATES)[position % 2]))
            session.add(AgendaItem(id=str(uuid.uuid4()), meeting_id=meeting_id,
                                   case_id=case_id, position=position + 1,
                                   title=f"Casus {position + 1}", question="Welke aanpak?",
                                   proposed_decision="Bestuurlijke aanpak"))
    return meeting_id


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def run(items: int, participant_count: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(instance_path=Path(scratch))
        engine = db.make_engine(f"sqlite:///{scratch}/bench.sqlite3")
        db.upgrade(engine)
        container = build_container(settings, bind=engine, keyring=Keyring.generate())
        participants = _participants(container, participant_count)
        meeting_id = build_meeting(container, items, participants)
        service = container.meetings
        riec = Caller(RIEC, "bench")
        timings: dict[str, list[float]] = {"routing_cold": [], "routing_warm": [],
                                           "publish_cold": []}
        for _ in range(rounds):
            service.router = AgendaRouter(container.policy)
            elapsed, preview = _timed(lambda: service.routing(riec, meeting_id))
            timings["routing_cold"].append(elapsed)
            timings["routing_warm"].append(_timed(lambda: service.routing(riec, meeting_id))[0])
            service.router = AgendaRouter(container.policy)
            timings["publish_cold"].append(
                _timed(lambda: service.publish(riec, meeting_id))[0])
        views = [v["view"] for item in preview["items"] for v in item["views"].values()]
        engine.dispose()
    return {
        "items": items, "participants": len(participants), "rounds": rounds,
        "pairs": len(views), "views": {v: views.count(v) for v in sorted(set(views))},
        "seconds": {name: {"median": statistics.median(values), "best": min(values)}
                    for name, values in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--participants", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    result = run(options.items, options.participants, options.rounds)
    for name, stats in result["seconds"].items():
        print(f"{name:<14} median {stats['median'] * 1000:8.1f} ms   best "
              f"{stats['best'] * 1000:8.1f} ms")
    print(f"{result['pairs']} (participant, item) pairs: {result['views']}")
    if options.out:
        options.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
