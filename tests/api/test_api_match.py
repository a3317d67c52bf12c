"""Matching logs through the REST API: an upload becomes a ``logs.match`` job whose hits name only the
indicators (and reports) the submitter's organisation may see; sightings, warninglists, limits, progress,
cancellation, and a spool that keeps nothing it no longer needs."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from commonspace.engine.local import BLOCK_SIZE
from commonspace.engine.warninglists import WarningLists, parse_warninglist
from commonspace.jobs.runner import JobContext, Worker
from commonspace.matching import background
from commonspace.store import tables as t
from commonspace.warninglists import service as warninglists
from commonspace.web.app import job_handlers
from world import API, GROUP, World, add_indicators, error_of, field_paths, new_report

HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#fields\tts\tuid\tid.orig_h\tid.resp_h\tquery\tanswers\n"
    "#types\ttime\tstring\taddr\taddr\tstring\tvector[string]\n"
)
DNS = HEADER + (
    "1.0\tC1\t10.0.0.1\t10.0.0.53\twww.evil.example\tcdn.evil.example,203.0.113.7\n"  # line 8
    "2.0\tC2\t10.0.0.2\t10.0.0.53\tgood.example\t-\n"  # line 9
    "3.0\tC3\t10.0.0.3\t10.0.0.53\tsecret.example\t203.0.113.99\n"  # line 10
    "4.0\tC4\t10.0.0.4\t10.0.0.53\tpartners.example\t-\n"  # line 11
)
LISTED = parse_warninglist(
    {"name": "Test list", "type": "hostname", "list": ["evil.example"]}, id="test-list"
)
EVE = (
    '{"timestamp":"2025-03-01T12:00:00.000000+0000","event_type":"dns","src_ip":"10.0.0.9",'
    '"dest_ip":"10.0.0.53","dns":{"type":"query","rrname":"login.evil.example"}}\n'
)


@pytest.fixture(autouse=True)
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spool of the test's own."""
    path = tmp_path / "spool"
    monkeypatch.setenv(background.SPOOL_VARIABLE, str(path))
    monkeypatch.delenv(background.LIMIT_VARIABLE, raising=False)
    return path


@pytest.fixture(autouse=True)
def lists() -> Iterator[None]:
    """One list, of evil.example: the built-in lists hold every reserved name and range used here."""
    warninglists.use(WarningLists([LISTED]))
    yield
    warninglists.reset()


@pytest.fixture
def reports(client: TestClient, world: World) -> dict[str, str]:
    """The ministry's reports: one for the community, one its own, one for its group with the bank."""
    made = {
        "community": new_report(client, world, "ministry.publisher", publish=True, title="Shared"),
        "own": new_report(
            client, world, "ministry.publisher", publish=True, title="Own", distribution="organisation"
        ),
        "group": new_report(
            client,
            world,
            "ministry.publisher",
            publish=True,
            title="Partners",
            distribution="sharing-group",
            sharing_group=world.groups[GROUP].uuid,
        ),
    }
    add_indicators(
        client, world, "ministry.publisher", made["community"]["uuid"], "evil.example", "203.0.113.0/28"
    )
    add_indicators(client, world, "ministry.publisher", made["own"]["uuid"], "secret.example")
    add_indicators(client, world, "ministry.publisher", made["group"]["uuid"], "partners.example")
    return {name: report["uuid"] for name, report in made.items()}


def submit(
    client: TestClient,
    world: World,
    label: str,
    content: bytes | str = DNS,
    name: str = "dns.log",
    **fields: Any,
) -> Any:
    data = content.encode() if isinstance(content, str) else content
    form = {key: str(value).lower() if isinstance(value, bool) else value for key, value in fields.items()}
    return client.post(f"{API}/match", files={"log": (name, data)}, data=form, headers=world.headers(label))


def queued(client: TestClient, world: World, label: str, content: bytes | str = DNS, **fields: Any) -> str:
    response = submit(client, world, label, content, **fields)
    assert response.status_code == 202, response.text
    return str(response.json()["uuid"])


def worker(client: TestClient, handlers: Any = None) -> Worker:
    return Worker(client.app.state.write_sessions, handlers or job_handlers(), "match-test-worker")  # type: ignore[attr-defined]


def job(client: TestClient, world: World, label: str, job_uuid: str) -> dict[str, Any]:
    response = client.get(f"{API}/jobs/{job_uuid}", headers=world.headers(label))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ran(
    client: TestClient, world: World, label: str, content: bytes | str = DNS, **fields: Any
) -> dict[str, Any]:
    """Submit, run the job, and the job as it ended."""
    job_uuid = queued(client, world, label, content, **fields)
    assert worker(client).run_once()
    return job(client, world, label, job_uuid)


def hits_of(
    client: TestClient, world: World, label: str, job_uuid: str, **params: int
) -> list[dict[str, Any]]:
    response = client.get(f"{API}/match/{job_uuid}/hits", params=params, headers=world.headers(label))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.splitlines()]


def spooled(spool: Path, folder: str) -> list[str]:
    directory = spool / folder
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_a_zeek_log_gives_the_hits_and_a_summary(
    client: TestClient, world: World, reports: dict[str, str], spool: Path
) -> None:
    response = submit(client, world, "bank.analyst")
    assert response.status_code == 202, response.text
    submitted = response.json()
    assert (submitted["kind"], submitted["state"], submitted["total"], submitted["progress"]) == (
        "logs.match",
        "queued",
        len(DNS),
        0,
    )
    assert spooled(spool, "uploads") == [f"{submitted['uuid']}.log"]
    assert worker(client).run_once()
    done = job(client, world, "bank.analyst", submitted["uuid"])
    assert done["state"] == "succeeded", done
    assert done["progress"] == done["total"] == len(DNS)
    result = done["result"]
    community = [reports["community"]]
    assert result["hits"] == 4 and result["indicators_hit"] == 3
    assert result["indicators"] == [
        {"type": "domain", "value": "evil.example", "hits": 2, "reports": community},
        {"type": "ipv4-cidr", "value": "203.0.113.0/28", "hits": 1, "reports": community},
        {"type": "domain", "value": "partners.example", "hits": 1, "reports": [reports["group"]]},
    ]
    assert result["log"] == {
        "name": "dns.log",
        "format": "zeek",
        "size": len(DNS),
        "skipped_lines": 0,
        "first_skipped": [],
        "read_error": None,
    }
    assert result["sightings_recorded"] is None and result["excluded_warninglisted"] == 0
    hits = hits_of(client, world, "bank.analyst", submitted["uuid"])
    assert [(h["line"], h["field"], h["observed"], h["indicator"]) for h in hits] == [
        (8, "query", "www.evil.example", "evil.example"),
        (8, "answers", "cdn.evil.example", "evil.example"),
        (8, "answers", "203.0.113.7", "203.0.113.0/28"),
        (11, "query", "partners.example", "partners.example"),
    ]
    assert {h["log"] for h in hits} == {"dns.log"}
    assert hits[0]["reports"] == community and hits[0]["type"] == "domain"
    # The upload is gone; the hits stay.
    assert spooled(spool, "uploads") == []
    assert spooled(spool, "results") == [f"{submitted['uuid']}.jsonl"]


def test_a_suricata_eve_line_gives_its_hit(client: TestClient, world: World, reports: dict[str, str]) -> None:
    for fmt in ("auto", "eve"):
        done = ran(client, world, "ngo.analyst", EVE, format=fmt)
        assert done["state"] == "succeeded", done
        assert done["result"]["log"]["format"] == "eve"
        (hit,) = hits_of(client, world, "ngo.analyst", done["uuid"])
        assert (hit["line"], hit["field"], hit["observed"], hit["indicator"], hit["reports"]) == (
            1,
            "dns.rrname",
            "login.evil.example",
            "evil.example",
            [reports["community"]],
        )
    # A format that does not fit the log finds nothing, and says so.
    done = ran(client, world, "ngo.analyst", EVE, format="zeek")
    assert done["state"] == "succeeded" and done["result"]["hits"] == 0
    assert done["result"]["log"]["format"] == "zeek"


def test_an_organisation_never_hears_of_indicators_it_cannot_see(
    client: TestClient, world: World, reports: dict[str, str]
) -> None:
    seen = {}
    for label in ("ministry.analyst", "bank.analyst", "ngo.analyst"):
        done = ran(client, world, label)
        assert done["state"] == "succeeded", done
        body = client.get(f"{API}/match/{done['uuid']}/hits", headers=world.headers(label)).text
        seen[label] = (
            json.dumps(done["result"]),
            body,
            {h["indicator"] for h in hits_of(client, world, label, done["uuid"])},
        )
    # The ministry sees all three of its reports' indicators.
    assert seen["ministry.analyst"][2] == {
        "evil.example",
        "203.0.113.0/28",
        "secret.example",
        "partners.example",
    }
    # The bank, in the group: not the ministry's own report.
    assert seen["bank.analyst"][2] == {"evil.example", "203.0.113.0/28", "partners.example"}
    # The NGO: the community's alone.
    assert seen["ngo.analyst"][2] == {"evil.example", "203.0.113.0/28"}
    for label in ("bank.analyst", "ngo.analyst"):
        result, body, _ = seen[label]
        for text in (result, body):
            assert "secret.example" not in text and reports["own"] not in text, label
    assert "partners.example" not in seen["ngo.analyst"][1] and reports["group"] not in seen["ngo.analyst"][0]
    # Hits name reports of other organisations: each is recorded in its owner's access log.
    log = client.get(f"{API}/audit/access", headers=world.headers("ministry.admin")).json()
    read = {
        (e["member"], e["object_uuid"]) for e in log if e["action"] == "report.read" and e["via"] == "job"
    }
    bank, ngo = world.members["bank.analyst"].email, world.members["ngo.analyst"].email
    assert read == {(bank, reports["community"]), (bank, reports["group"]), (ngo, reports["community"])}


def test_the_hits_are_not_found_for_anyone_else(
    client: TestClient, world: World, reports: dict[str, str]
) -> None:
    job_uuid = queued(client, world, "bank.analyst")

    def not_found(label: str, target: str) -> dict[str, Any]:
        response = client.get(f"{API}/match/{target}/hits", headers=world.headers(label))
        assert response.status_code == 404, (label, response.text)
        error = error_of(response)
        assert error["code"] == "not_found"
        return {**error, "message": error["message"].replace(target, "UUID")}

    # Not yet run: nothing to give, even to the submitter.
    assert "queued" in not_found("bank.analyst", job_uuid)["message"]
    assert worker(client).run_once()
    assert len(hits_of(client, world, "bank.analyst", job_uuid)) == 4
    assert len(hits_of(client, world, "bank.admin", job_uuid)) == 4  # as GET /jobs/{uuid}: the org's admins
    unknown = not_found("ngo.analyst", str(uuid.uuid4()))
    for label in ("bank.publisher", "bank.reader", "ministry.admin", "ngo.analyst"):
        assert not_found(label, job_uuid) == unknown, label
    # A job of another kind has no hits.
    other = client.post(
        f"{API}/reports/{reports['community']}/indicators",
        params={"background": "true"},
        json={"indicators": [{"value": "more.example"}]},
        headers=world.headers("ministry.publisher"),
    ).json()
    assert worker(client).run_once()
    assert not_found("ministry.publisher", other["uuid"]) == unknown


def test_the_hits_can_be_paged(client: TestClient, world: World, reports: dict[str, str]) -> None:
    done = ran(client, world, "ministry.analyst")
    every = hits_of(client, world, "ministry.analyst", done["uuid"])
    assert len(every) == 5
    for offset in range(7):
        assert hits_of(client, world, "ministry.analyst", done["uuid"], offset=offset) == every[offset:]
        for limit in (1, 2, 5, 9):
            paged = hits_of(client, world, "ministry.analyst", done["uuid"], offset=offset, limit=limit)
            assert paged == every[offset : offset + limit], (offset, limit)
    for bad in ({"offset": -1}, {"limit": 0}):
        response = client.get(
            f"{API}/match/{done['uuid']}/hits", params=bad, headers=world.headers("ministry.analyst")
        )
        assert response.status_code == 422 and field_paths(response) == list(bad)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_reading_hits_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(background, "READ_CHUNK", chunk)
    lines = [f'{{"line":{i},"observed":"{"x" * (i % 13)}"}}\n'.encode() for i in range(40)]
    path = tmp_path / "hits.jsonl"
    path.write_bytes(b"".join(lines))
    for offset in (0, 1, 5, 39, 40, 41):
        for limit in (None, 1, 3, 40):
            read = b"".join(background.read_hits(path.open("rb"), offset, limit))
            end = None if limit is None else offset + limit
            assert read == b"".join(lines[offset:end]), (offset, limit)


def test_sightings_are_recorded_for_the_callers_organisation(
    client: TestClient, world: World, reports: dict[str, str], spool: Path
) -> None:
    done = ran(client, world, "bank.analyst", record_sightings=True)
    assert done["state"] == "succeeded", done
    assert done["result"]["sightings_recorded"] == 3
    with world.session() as session:
        rows = session.execute(
            select(
                t.Indicator.canonical,
                t.Sighting.count,
                t.Sighting.org_id,
                t.Sighting.member_id,
                t.Sighting.source,
            )
            .join(t.Sighting, t.Sighting.indicator_id == t.Indicator.id)
            .order_by(t.Indicator.canonical)
        ).all()
    bank, analyst = world.orgs["bank"].id, world.members["bank.analyst"].id
    source = f"match: dns.log (job {done['uuid']})"
    assert [tuple(row) for row in rows] == [
        ("203.0.113.0/28", 1, bank, analyst, source),
        ("evil.example", 2, bank, analyst, source),
        ("partners.example", 1, bank, analyst, source),
    ]
    # Readers may match, but not record sightings: refused at once, and nothing is kept.
    assert ran(client, world, "bank.reader")["state"] == "succeeded"
    jobs_before = client.get(f"{API}/jobs", headers=world.headers("bank.reader")).json()
    for content in (DNS, "x" * 200_000):  # the field comes before the file: refused there
        response = submit(client, world, "bank.reader", content, record_sightings=True)
        assert response.status_code == 403, response.text
        assert error_of(response)["code"] == "forbidden" and "sightings" in error_of(response)["message"]
    assert client.get(f"{API}/jobs", headers=world.headers("bank.reader")).json() == jobs_before
    assert spooled(spool, "uploads") == []
    with world.session() as session:
        assert len(session.scalars(select(t.Sighting)).all()) == 3


def test_a_member_lowered_to_reader_meanwhile_records_nothing(
    client: TestClient, world: World, reports: dict[str, str]
) -> None:
    job_uuid = queued(client, world, "bank.analyst", record_sightings=True)
    member = world.members["bank.analyst"]
    changed = client.patch(
        f"{API}/members/{member.uuid}", json={"role": "reader"}, headers=world.headers("bank.admin")
    )
    assert changed.status_code == 200, changed.text
    assert worker(client).run_once()
    failed = job(client, world, "bank.analyst", job_uuid)
    assert failed["state"] == "failed" and "cannot record sightings" in failed["error"]
    assert failed["progress"] == 0  # refused before matching anything
    with world.session() as session:
        assert session.scalars(select(t.Sighting)).all() == []


def test_a_disabled_member_gets_no_match(
    client: TestClient, world: World, reports: dict[str, str], spool: Path
) -> None:
    job_uuid = queued(client, world, "bank.analyst")
    member = world.members["bank.analyst"]
    changed = client.patch(
        f"{API}/members/{member.uuid}", json={"disabled": True}, headers=world.headers("bank.admin")
    )
    assert changed.status_code == 200, changed.text
    assert worker(client).run_once()
    failed = job(client, world, "bank.admin", job_uuid)
    assert failed["state"] == "failed" and "disabled" in failed["error"] and failed["result"] is None
    assert spooled(spool, "uploads") == [] and spooled(spool, "results") == []


def test_warninglisted_indicators_can_be_left_out(
    client: TestClient, world: World, reports: dict[str, str]
) -> None:
    every = ran(client, world, "bank.analyst")
    assert {i["value"] for i in every["result"]["indicators"]} == {
        "evil.example",
        "203.0.113.0/28",
        "partners.example",
    }
    assert every["result"]["excluded_warninglisted"] == 0
    kept = ran(client, world, "bank.analyst", exclude_warninglisted=True)
    assert kept["state"] == "succeeded", kept
    assert {i["value"] for i in kept["result"]["indicators"]} == {"203.0.113.0/28", "partners.example"}
    assert kept["result"]["excluded_warninglisted"] == 1
    hits = hits_of(client, world, "bank.analyst", kept["uuid"])
    assert {h["indicator"] for h in hits} == {"203.0.113.0/28", "partners.example"}


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ({"format": "syslog"}, "format", "one of auto, zeek, zeek-json, eve, csv, ncsa, text"),
        ({"record_sightings": "maybe"}, "record_sightings", "not a boolean"),
        ({"exclude_warninglisted": "2"}, "exclude_warninglisted", "not a boolean"),
        ({"formats": "zeek"}, "formats", "unknown field"),
    ],
)
def test_bad_fields_are_refused(
    client: TestClient, world: World, spool: Path, fields: dict[str, str], path: str, words: str
) -> None:
    response = submit(client, world, "bank.analyst", **fields)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "invalid" and words in error["message"] and field_paths(response) == [path]
    assert spooled(spool, "uploads") == []
    assert client.get(f"{API}/jobs", headers=world.headers("bank.analyst")).json() == []


def test_a_request_without_a_log_is_refused(client: TestClient, world: World, spool: Path) -> None:
    headers = world.headers("bank.analyst")
    for response in (
        client.post(f"{API}/match", data={"format": "zeek"}, headers=headers),
        client.post(f"{API}/match", files={"other": ("x", b"x")}, headers=headers),
        client.post(f"{API}/match", content=DNS.encode(), headers=headers),
        client.post(
            f"{API}/match",
            content=b"--x\r\nbroken",
            headers={**headers, "content-type": "multipart/form-data; boundary=x"},
        ),
    ):
        assert response.status_code == 422, response.text
        assert error_of(response)["code"] == "invalid"
    assert spooled(spool, "uploads") == []
    # Unauthenticated and read-only callers are stopped before the upload is read.
    assert client.post(f"{API}/match", files={"log": ("dns.log", DNS)}).status_code == 401


def test_a_read_only_key_cannot_submit(client: TestClient, world: World, spool: Path) -> None:
    member = world.members["bank.analyst"]
    created = client.post(
        f"{API}/members/{member.uuid}/api-keys",
        json={"name": "ro", "read_only": True},
        headers=world.headers("bank.analyst"),
    )
    assert created.status_code == 201, created.text
    response = client.post(
        f"{API}/match",
        files={"log": ("dns.log", DNS)},
        headers={"Authorization": f"Bearer {created.json()['key']}"},
    )
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
    assert spooled(spool, "uploads") == []


def test_an_oversize_upload_is_refused_and_leaves_nothing(
    client: TestClient, world: World, spool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(background.LIMIT_VARIABLE, "1K")
    # Past the limit while streaming (the body is not much larger), and at once (it is far larger).
    for size in (1025, 5000, 200_000):
        response = submit(client, world, "bank.analyst", "a" * size)
        assert response.status_code == 413, response.text
        error = error_of(response)
        assert (
            error["code"] == "too_large" and "1 KiB" in error["message"] and field_paths(response) == ["log"]
        )
        assert spooled(spool, "uploads") == []
    assert client.get(f"{API}/jobs", headers=world.headers("bank.analyst")).json() == []
    assert submit(client, world, "bank.analyst", "a" * 1024).status_code == 202  # the limit itself is fine


def test_the_upload_limit_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert background.upload_limit() == 1 << 30
    for raw, expected in (("2048", 2048), ("500M", 500 << 20), ("2g", 2 << 30), ("3 GiB", 3 << 30)):
        monkeypatch.setenv(background.LIMIT_VARIABLE, raw)
        assert background.upload_limit() == expected, raw
    for raw in ("lots", "0", "-5", "1.5G"):
        monkeypatch.setenv(background.LIMIT_VARIABLE, raw)
        with pytest.raises(ValueError, match=background.LIMIT_VARIABLE):
            background.upload_limit()


def test_the_default_spool_is_beside_the_default_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(background.SPOOL_VARIABLE)
    assert background.spool_directory() == Path("var/spool")


def _big_log() -> str:
    """A log the engine reads in three blocks (a progress report each)."""
    line = "1.0\tC1\t10.0.0.1\t10.0.0.53\twww.evil.example\t-\n"
    return HEADER + line * (5 * BLOCK_SIZE // 2 // len(line))


def test_progress_is_reported_in_bytes(
    client: TestClient, world: World, reports: dict[str, str], spool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "PROGRESS_SECONDS", 0.0)
    log = _big_log()
    reported: list[tuple[int, int | None]] = []

    def recording(ctx: JobContext) -> dict[str, Any]:
        progress = ctx.progress

        def record(done: int, total: int | None = None) -> None:
            reported.append((done, total))
            progress(done, total)

        ctx.progress = record  # type: ignore[method-assign]
        return background.run_match(ctx)

    job_uuid = queued(client, world, "bank.analyst", log)
    assert worker(client, {background.KIND: recording}).run_once()
    done = job(client, world, "bank.analyst", job_uuid)
    assert done["state"] == "succeeded" and done["progress"] == done["total"] == len(log)
    assert done["result"]["hits"] == log.count("www.evil.example")
    assert reported[0] == (0, len(log)) and reported[-1] == (len(log), len(log))
    between = [d for d, _ in reported[1:-1]]
    assert len(between) >= 2 and between == sorted(between) and 0 < between[0] < len(log)
    assert {total for _, total in reported} == {len(log)}


def test_a_cancelled_job_stops_and_records_nothing(
    client: TestClient, world: World, reports: dict[str, str], spool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "PROGRESS_SECONDS", 0.0)
    log = _big_log()
    calls: list[int] = []

    def cancelled_meanwhile(ctx: JobContext) -> dict[str, Any]:
        progress = ctx.progress

        def record(done: int, total: int | None = None) -> None:
            calls.append(done)
            if len(calls) == 2:  # the match has begun: its submitter cancels it
                response = client.post(f"{API}/jobs/{ctx.uuid}/cancel", headers=world.headers("bank.analyst"))
                assert response.status_code == 200, response.text
            progress(done, total)

        ctx.progress = record  # type: ignore[method-assign]
        return background.run_match(ctx)

    job_uuid = queued(client, world, "bank.analyst", log, record_sightings=True)
    assert worker(client, {background.KIND: cancelled_meanwhile}).run_once()
    ended = job(client, world, "bank.analyst", job_uuid)
    assert ended["state"] == "cancelled" and ended["result"] is None
    assert len(calls) == 2 and ended["progress"] < len(log)
    assert spooled(spool, "uploads") == [] and spooled(spool, "results") == []
    with world.session() as session:
        assert session.scalars(select(t.Sighting)).all() == []


def test_the_uploads_of_jobs_that_will_never_run_are_swept(
    client: TestClient, world: World, reports: dict[str, str], spool: Path
) -> None:
    cancelled = queued(client, world, "bank.analyst")
    response = client.post(f"{API}/jobs/{cancelled}/cancel", headers=world.headers("bank.analyst"))
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    orphan = spool / "uploads" / f"{uuid.uuid4()}.log"  # its request failed before the job was committed
    orphan.write_text(DNS)
    fresh = spool / "uploads" / "upload-x.partial"  # an upload still arriving
    fresh.write_text(DNS)
    old = spool / "uploads" / "upload-y.partial"  # an upload a stopped server left
    old.write_text(DNS)
    lost = spool / "results" / f"{cancelled}.1.partial"  # the hits of an attempt that ended
    lost.parent.mkdir(parents=True)
    lost.write_text("{}\n")
    stale = background.STALE_SECONDS + 60
    for path in (orphan, old):
        mtime = path.stat().st_mtime - stale
        os.utime(path, (mtime, mtime))
    waiting = queued(client, world, "ngo.analyst")
    assert set(spooled(spool, "uploads")) == {
        f"{cancelled}.log",
        orphan.name,
        fresh.name,
        old.name,
        f"{waiting}.log",
    }
    assert worker(client).run_once()
    assert job(client, world, "ngo.analyst", waiting)["state"] == "succeeded"
    assert spooled(spool, "uploads") == [fresh.name]
    assert spooled(spool, "results") == [f"{waiting}.jsonl"]


def test_a_log_missing_from_the_spool_fails_clearly(
    client: TestClient, world: World, reports: dict[str, str], spool: Path
) -> None:
    job_uuid = queued(client, world, "bank.analyst")
    (spool / "uploads" / f"{job_uuid}.log").unlink()
    assert worker(client).run_once()
    failed = job(client, world, "bank.analyst", job_uuid)
    assert failed["state"] == "failed" and background.SPOOL_VARIABLE in failed["error"]


def test_a_gzip_log_and_a_member_who_sees_nothing(client: TestClient, world: World, spool: Path) -> None:
    done = ran(client, world, "bank.analyst", gzip.compress(DNS.encode()))
    assert done["state"] == "succeeded", done
    assert done["result"]["hits"] == 0 and done["result"]["indicators_matched"] == 0
    assert done["result"]["log"]["format"] == "zeek"
    assert hits_of(client, world, "bank.analyst", done["uuid"]) == []


def test_the_job_record_survives_the_member_losing_the_job(
    client: TestClient, world: World, reports: dict[str, str], spool: Path
) -> None:
    """A worker whose job was taken from it (recovered as stale) leaves the upload to the next attempt."""
    job_uuid = queued(client, world, "bank.analyst")

    def taken_away(ctx: JobContext) -> dict[str, Any]:
        with ctx.session() as session:
            session.execute(update(t.Job).where(t.Job.id == ctx.job_id).values(state="queued", worker=None))
        return background.run_match(ctx)

    assert worker(client, {background.KIND: taken_away}).run_once()
    assert spooled(spool, "uploads") == [f"{job_uuid}.log"] and spooled(spool, "results") == []
    assert worker(client).run_once()
    done = job(client, world, "bank.analyst", job_uuid)
    assert done["state"] == "succeeded" and done["attempts"] == 2 and done["result"]["hits"] == 4
    assert spooled(spool, "uploads") == []
