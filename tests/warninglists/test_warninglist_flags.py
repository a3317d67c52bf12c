"""The warninglists of the instance: which are used, read once and kept, clear errors for a folder or list
that cannot be used, flags stored as sorted ids or SQL NULL, refreshed in batches; and MISP's real lists."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import JSON, Engine, select, text, update

from commonspace.demo.sources import default_data_dir
from commonspace.domain.vocab import IndicatorType
from commonspace.engine.warninglists import WarningListError, WarningLists, builtin_lists, parse_warninglist
from commonspace.reports import schemas
from commonspace.reports import service as reports
from commonspace.store import tables as t
from commonspace.store.db import session_factory, transaction
from commonspace.warninglists import instance, service
from world import World

T = IndicatorType
IN_CI = os.environ.get("CI", "").lower() == "true"
RESOLVERS = {"name": "Test resolvers", "type": "cidr", "list": ["9.9.9.9"]}


@pytest.fixture(autouse=True)
def forget_the_lists(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(service.DIRECTORY_VARIABLE, raising=False)
    service.reset()
    yield
    service.reset()


def folder_of(path: Path, **lists: object) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for list_id, document in lists.items():
        (path / f"{list_id}.json").write_bytes(orjson.dumps(document))
    return path


# --- which lists, read when -----------------------------------------------------------------------------


def test_without_a_folder_the_built_in_lists_are_used() -> None:
    lists = service.active()
    assert [w.id for w in lists.lists] == [w.id for w in builtin_lists()]
    assert lists.directory is None
    assert lists.flags(T.IPV4, "192.168.1.1") == ["rfc1918", "rfc5735"]
    assert lists.flags(T.DOMAIN, "evil-c2.top") is None
    assert lists.name("rfc1918") == "List of RFC 1918 CIDR blocks" and lists.name("gone") == "gone"


def test_the_folder_comes_from_the_environment_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = folder_of(tmp_path / "lists", resolvers=RESOLVERS)
    monkeypatch.setenv(service.DIRECTORY_VARIABLE, str(folder))
    assert service.configured_directory() == folder
    assert service.active().flags(T.IPV4, "9.9.9.9") == ["resolvers"]
    service.configure(None)  # the command line wins: the built-in lists alone
    assert service.configured_directory() is None
    assert service.active().flags(T.IPV4, "9.9.9.9") is None
    service.reset()
    assert service.active().directory == folder


def test_the_lists_are_read_once_and_kept_until_configured_again(tmp_path: Path) -> None:
    folder = folder_of(tmp_path / "lists", resolvers=RESOLVERS)
    service.configure(folder)
    first = service.active()
    (folder / "resolvers.json").write_text("not JSON any more")
    assert service.active() is first  # kept: the folder is not read again
    service.configure(folder)
    with pytest.raises(WarningListError, match="resolvers.json: is not valid JSON"):
        service.active()


def test_concurrent_first_uses_read_the_lists_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance.configure(folder_of(tmp_path / "lists", resolvers=RESOLVERS))
    reads: list[object] = []
    real_load = instance.load

    def counting_load(directory: object) -> instance.InstanceLists:
        reads.append(directory)
        return real_load(directory)  # type: ignore[arg-type]

    monkeypatch.setattr(instance, "load", counting_load)
    seen: list[instance.InstanceLists] = []
    threads = [threading.Thread(target=lambda: seen.append(instance.active())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reads) == 1 and len({id(s) for s in seen}) == 1


def test_injected_lists_are_used_until_reset() -> None:
    extra = parse_warninglist(RESOLVERS, id="injected")
    service.use(WarningLists([extra]))
    assert service.active().flags(T.IPV4, "9.9.9.9") == ["injected"]
    assert service.active().flags(T.IPV4, "10.0.0.1") is None  # only what was given
    service.reset()
    assert service.active().flags(T.IPV4, "9.9.9.9") is None


def _missing(root: Path) -> Path:
    return root / "nowhere"


def _a_file(root: Path) -> Path:
    (root / "list.json").write_bytes(orjson.dumps(RESOLVERS))
    return root / "list.json"


def _empty(root: Path) -> Path:
    (root / "empty").mkdir()
    return root / "empty"


def _no_entries(root: Path) -> Path:
    return folder_of(root / "lists", good=RESOLVERS, bad={"name": "Bad", "type": "cidr", "list": []})


def _unknown_type(root: Path) -> Path:
    return folder_of(root / "lists", bad={"name": "Bad", "type": "glob", "list": ["a"]})


def _same_name(root: Path) -> Path:
    return folder_of(root / "lists", a={"name": "Same", "list": ["a"]}, b={"name": "Same", "list": ["b"]})


BAD = {
    "missing": (_missing, "nowhere: does not exist (the folder of warninglists)"),
    "a-file": (_a_file, "list.json: is not a folder"),
    "empty": (_empty, "empty: holds no warninglists"),
    "no-entries": (_no_entries, "bad.json: 'list' has no entries"),
    "unknown-type": (_unknown_type, "bad.json: 'type' is 'glob'"),
    "same-name": (_same_name, "b.json: the name 'Same' is already taken by"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_folder_or_list_that_cannot_be_used_is_named(tmp_path: Path, case: str) -> None:
    make, reason = BAD[case]
    path = make(tmp_path)
    with pytest.raises(WarningListError) as raised:
        service.load(path)
    assert str(raised.value).startswith(str(path)) and reason in str(raised.value)
    service.configure(path)
    with pytest.raises(
        WarningListError, match=reason.split(": ", 1)[1].replace("(", r"\(").replace(")", r"\)")
    ):
        service.active()


# --- stored flags, refreshed ------------------------------------------------------------------------


def _report(world: World, *values: str) -> None:
    with transaction(session_factory(world.engine, writer=True)) as session:
        org = session.scalar(select(t.Organisation).where(t.Organisation.id == world.orgs["ministry"].id))
        data = schemas.ReportIn(title="R", indicators=[schemas.IndicatorIn(value=v) for v in values])
        reports.create_report(session, None, data, org=org)


def _stored(engine: Engine) -> dict[str, tuple[list[str] | None, bool]]:
    with transaction(session_factory(engine)) as session:
        query = select(t.Indicator.canonical, t.Indicator.warninglists, t.Indicator.warninglists.is_(None))
        return {canonical: (flags, is_null) for canonical, flags, is_null in session.execute(query)}


def _refresh(engine: Engine, size: int) -> list[service.Refreshed]:
    done: list[service.Refreshed] = []
    after = 0
    while True:
        with transaction(session_factory(engine, writer=True)) as session:
            batch = service.refresh_batch(session, service.active(), after=after, size=size)
        if not batch.checked:
            return done
        done.append(batch)
        after = batch.last_id


def test_refresh_recomputes_the_flags_in_batches(world: World) -> None:
    _report(world, "9.9.9.9", "10.0.0.1", "evil-c2.top", "www.example.com", "45.9.148.3")
    assert _stored(world.engine) == {
        "9.9.9.9": (None, True),
        "10.0.0.1": (["rfc1918", "rfc5735"], False),
        "evil-c2.top": (None, True),
        "www.example.com": (["special-use-domains"], False),
        "45.9.148.3": (None, True),
    }
    hosting = parse_warninglist({"name": "Hosting", "type": "string", "list": ["evil-c2.top"]}, id="hosting")
    resolvers = parse_warninglist(RESOLVERS, id="resolvers")
    service.use(WarningLists([*builtin_lists(), hosting, resolvers]))
    with transaction(session_factory(world.engine, writer=True)) as session:
        assert service.count_indicators(session) == 5
    batches = _refresh(world.engine, size=2)
    assert [(b.checked, b.changed, b.flagged) for b in batches] == [(2, 1, 2), (2, 1, 2), (1, 0, 0)]
    assert _stored(world.engine)["9.9.9.9"] == (["resolvers"], False)
    assert _stored(world.engine)["evil-c2.top"] == (["hosting"], False)
    assert [(b.checked, b.changed) for b in _refresh(world.engine, size=10)] == [(5, 0)]
    service.use(WarningLists([resolvers]))  # the built-in lists are gone too
    assert sum(b.changed for b in _refresh(world.engine, size=3)) == 3
    assert {k: v for k, v in _stored(world.engine).items() if not v[1]} == {"9.9.9.9": (["resolvers"], False)}


def test_refresh_turns_json_null_and_unsorted_flags_into_the_stored_form(world: World) -> None:
    _report(world, "10.0.0.1", "evil-c2.top", "45.9.148.3")
    with transaction(session_factory(world.engine, writer=True)) as session:
        # What a write of JSON null (the column's default before it stored None as SQL NULL) or of another
        # order would have left.
        session.execute(
            update(t.Indicator).where(t.Indicator.canonical == "evil-c2.top").values(warninglists=JSON.NULL)
        )
        session.execute(
            update(t.Indicator)
            .where(t.Indicator.canonical == "10.0.0.1")
            .values(warninglists=["rfc5735", "rfc1918"])
        )
        session.execute(
            update(t.Indicator).where(t.Indicator.canonical == "45.9.148.3").values(warninglists=[])
        )
    assert _stored(world.engine)["evil-c2.top"] == (None, False)  # JSON null, which IS NULL does not find
    assert [(b.checked, b.changed) for b in _refresh(world.engine, size=100)] == [(3, 3)]
    assert _stored(world.engine) == {
        "10.0.0.1": (["rfc1918", "rfc5735"], False),
        "evil-c2.top": (None, True),
        "45.9.148.3": (None, True),
    }
    with transaction(session_factory(world.engine)) as session:
        raw = session.execute(text("SELECT COUNT(*) FROM indicator WHERE warninglists IS NULL")).scalar()
    assert raw == 2


# --- MISP's real lists --------------------------------------------------------------------------------


@pytest.fixture
def real_folder() -> Path:
    folder = default_data_dir() / "warninglists"
    if not folder.is_dir():
        if IN_CI:
            pytest.fail(f"the shared data folder is missing under CI: {folder}")
        pytest.skip(f"no shared warninglists at {folder}")
    return folder


def test_the_real_misp_lists_load_and_flag_stored_indicators(real_folder: Path, world: World) -> None:
    service.configure(real_folder)
    lists = service.active()
    assert lists.directory == real_folder
    assert sum(w.source != "built-in" for w in lists.lists) == 136
    assert lists.lists.errors == ()
    _report(world, "8.8.8.8", "d41d8cd98f00b204e9800998ecf8427e", "c2-4f7a91.evil-domain.top", "10.1.2.3")
    stored = _stored(world.engine)
    assert "public-dns-v4" in (stored["8.8.8.8"][0] or [])
    assert "empty-hashes" in (stored["d41d8cd98f00b204e9800998ecf8427e"][0] or [])
    assert stored["c2-4f7a91.evil-domain.top"] == (None, True)
    assert stored["10.1.2.3"][0] == ["rfc1918", "rfc5735"]  # MISP's copies of the built-in lists
    for flags, _ in stored.values():
        assert flags is None or flags == sorted(flags)
