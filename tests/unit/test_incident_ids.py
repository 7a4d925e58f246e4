"""Incident ids stay put while an incident's tickets change (``related.keep_incident_ids``)."""

from __future__ import annotations

import hashlib

from supportflow.assist.related import Incident, keep_incident_ids

IDS = [f"zendesk:{n}" for n in range(10)]


def first_ticket_id(*tickets: str) -> str:
    return "inc-" + hashlib.md5("".join(tickets).encode()).hexdigest()[:10]


def incidents(*groups: list[int]) -> list[Incident]:
    return [Incident("unset", members) for members in groups]


def test_new_incidents_take_their_first_ticket_id_and_keep_it_on_a_rerun():
    fresh = keep_incident_ids(incidents([1, 2, 3], [5, 6]), IDS, {})
    assert [i.incident_id for i in fresh] == [first_ticket_id(IDS[1]), first_ticket_id(IDS[5])]
    stored = {i.incident_id: {IDS[m] for m in i.members} for i in fresh}
    again = keep_incident_ids(incidents([1, 2, 3], [5, 6]), IDS, stored)
    assert [i.incident_id for i in again] == [i.incident_id for i in fresh]


def test_a_late_first_ticket_does_not_rename_the_incident():
    stored = {"inc-stored": {IDS[2], IDS[3], IDS[4]}}
    (late,) = keep_incident_ids(incidents([0, 2, 3, 4]), IDS, stored)
    assert late.incident_id == "inc-stored"


def test_a_merge_keeps_the_id_sharing_most_tickets_and_a_split_gives_its_smaller_part_a_new_one():
    stored = {"inc-small": {IDS[0], IDS[1]}, "inc-large": {IDS[2], IDS[3], IDS[4]}}
    (merged,) = keep_incident_ids(incidents([0, 1, 2, 3, 4]), IDS, stored)
    assert merged.incident_id == "inc-large"
    whole = {first_ticket_id(IDS[0]): {IDS[m] for m in range(5)}}  # it was named by ticket 0
    small, large = keep_incident_ids(incidents([0, 1], [2, 3, 4]), IDS, whole)
    assert large.incident_id == first_ticket_id(IDS[0])
    assert small.incident_id == first_ticket_id(IDS[0], IDS[1])  # ticket 0's id is taken


def test_ties_go_to_the_earlier_incident_and_each_stored_id_to_one_incident():
    stored = {"inc-a": {IDS[0], IDS[1], IDS[5], IDS[6]}}
    first, second = keep_incident_ids(incidents([0, 1], [5, 6]), IDS, stored)
    assert (first.incident_id, second.incident_id) == ("inc-a", first_ticket_id(IDS[5]))
