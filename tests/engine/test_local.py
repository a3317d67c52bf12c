"""The local engine: JSON Lines exactly as the hits say, whatever the values hold; the same output with
one process or several; skipped lines, progress and tallies told back from the workers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest

from commonspace.domain.vocab import IndicatorType
from commonspace.engine import spans
from commonspace.engine.index import IndicatorIndex
from commonspace.engine.local import collect_hits, match_logs
from commonspace.engine.match import Hit, match_records
from commonspace.engine.output import Renderer, Tally
from commonspace.engine.readers import open_log
from commonspace.engine.readers import spans as readers_spans
from commonspace.engine.scan import BlockHits, CellHits, hits_of

T = IndicatorType
INDEX = IndicatorIndex(
    [
        (T.DOMAIN, "evil.example", 1),
        (T.DOMAIN, "evil.example", 2),  # the same value in a second report
        (T.IPV4, "192.0.2.1", 3),
        (T.IPV4_CIDR, "192.0.2.0/24", 4),
    ]
)
HEADER = (
    "#separator \\x09\n#set_separator\t,\n#fields\tts\tquery\tanswers\n#types\ttime\tstring\tvector[string]\n"
)


def lines(output: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_lines_are_json_whatever_the_values_hold() -> None:
    odd = 'we"ird%d\\%s\u00e9.evil.example'
    cell = CellHits("a\t%field", ((odd, (T.DOMAIN, "evil.example", 1)),))
    out = Renderer('logs/%s "x".log').render(BlockHits([7, 9], [cell, cell]))
    expected = {"log": 'logs/%s "x".log', "field": "a\t%field", "observed": odd, "indicator": "evil.example"}
    assert lines(out) == [{**expected, "line": n, "type": "domain"} for n in (7, 9)]


def test_one_line_per_indicator_value_with_the_references_described() -> None:
    cell = CellHits(
        "answers",
        (
            ("192.0.2.1", (T.IPV4, "192.0.2.1", 3)),
            ("192.0.2.1", (T.IPV4_CIDR, "192.0.2.0/24", 4)),
            ("a.evil.example", (T.DOMAIN, "evil.example", 1)),
            ("a.evil.example", (T.DOMAIN, "evil.example", 2)),
        ),
    )
    reports = {1: "r-one", 2: "r-two", 3: "r-one", 4: "r-two"}

    def describe(refs: object) -> bytes:
        return b',"reports":' + orjson.dumps(sorted({reports[r] for r in refs}))  # type: ignore[attr-defined]

    out = lines(Renderer("x.log", describe).render(BlockHits([5], [cell])))
    assert [(h["line"], h["indicator"], h["reports"]) for h in out] == [
        (5, "192.0.2.1", ["r-one"]),
        (5, "192.0.2.0/24", ["r-two"]),
        (5, "evil.example", ["r-one", "r-two"]),  # two references, one line
    ]
    tally = Tally()
    tally.add(BlockHits([5, 6], [cell, cell]))
    assert tally.hits == 6
    assert tally.by_indicator[T.DOMAIN, "evil.example"] == 2 and tally.by_ref == {1: 2, 2: 2, 3: 2, 4: 2}


def write_log(path: Path, rows: int, *, gz: bool = False) -> Path:
    body = "".join(
        f"{i}.0\t{f'h{i}.evil.example' if i % 3 else 'good.example'}\t192.0.2.{i % 300},x\n"
        if i % 97
        else "a malformed line\n"
        for i in range(rows)
    )
    data = (HEADER + body).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_several_processes_write_what_one_writes(tmp_path: Path, gz: bool) -> None:
    path = write_log(tmp_path / "x.log", 5000, gz=gz)
    outputs = []
    for workers in (1, 3):
        chunks: list[bytes] = []
        seen: list[int] = []
        result = match_logs(
            [path], INDEX, write=chunks.append, workers=workers, chunk_size=4096, progress=seen.append
        )
        outputs.append(b"".join(chunks))
        (log,) = result.logs
        assert log.format == "zeek" and log.skipped == 52 and log.skipped_lines[:2] == [5, 102]
        assert seen and seen[-1] == path.stat().st_size and seen == sorted(seen)
        assert result.tally.hits == len(outputs[-1].splitlines())
    assert outputs[0] == outputs[1]
    expected = [(h.line, h.field, h.indicator) for h in match_records(open_log(path), INDEX)]
    got = [(h["line"], h["field"], h["indicator"]) for h in lines(outputs[0])]
    # Two references of evil.example make one line: the reference hits, made unique, are the lines.
    assert got == list(dict.fromkeys(expected))


def test_hits_of_another_engine_render_the_same(tmp_path: Path) -> None:
    path = write_log(tmp_path / "x.log", 800)
    ours: list[bytes] = []
    match_logs([path], INDEX, write=ours.append, workers=1)
    found = [(str(path), hit) for hit in match_records(open_log(path), INDEX)]
    theirs: list[bytes] = []
    result = collect_hits(found, [path], write=theirs.append, batch=7)
    assert b"".join(theirs) == b"".join(ours)
    assert result.tally.hits == len(b"".join(ours).splitlines())


def test_hits_of_round_trip() -> None:
    hits = [Hit(3, "q", "a.evil.example", "evil.example", T.DOMAIN, 1)]
    assert (
        list(hits_of(BlockHits([3], [CellHits("q", (("a.evil.example", (T.DOMAIN, "evil.example", 1)),))])))
        == hits
    )


@pytest.mark.parametrize("fmt", ["zeek", "eve"])
def test_spans_read_by_the_workers_give_what_blocks_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    if fmt == "zeek":
        first = write_log(tmp_path / "a.log", 3000).read_text()
        # A second log, with other columns, in the same file: spans after it start under its header.
        second = "#separator \\x09\n#fields\tname\tip\n#types\tstring\taddr\n" + "".join(
            f"x{i}.evil.example\t192.0.2.{i % 256}\n" if i % 50 else "bad\n" for i in range(3000)
        )
        path = tmp_path / "x.log"
        path.write_text(first + second + first.split("\n", 4)[4])  # then the first log's lines again
    else:
        path = tmp_path / "eve.json"
        path.write_text(
            "".join(
                f'{{"dns": {{"rrname": "h{i}.evil.example"}}, "ip": "192.0.2.{i % 256}"}}\n'
                if i % 61
                else "no\n"
                for i in range(6000)
            )
        )
    block_by_block: list[bytes] = []
    expected = match_logs([path], INDEX, fmt=fmt, write=block_by_block.append, workers=1, chunk_size=4096)
    monkeypatch.setattr(spans, "MIN_SPAN", 1000)
    monkeypatch.setattr(spans, "SPAN_SIZE", 7000)  # many spans, cut anywhere
    spanned: list[bytes] = []
    seen: list[int] = []
    result = match_logs(
        [path], INDEX, fmt=fmt, write=spanned.append, workers=2, chunk_size=4096, progress=seen.append
    )
    assert spans.spannable(path, open_log(path, fmt).format, 2)
    assert b"".join(spanned) == b"".join(block_by_block) != b""
    assert result.logs == expected.logs and expected.logs[0].skipped > 10
    assert result.tally.by_indicator == expected.tally.by_indicator
    assert seen[-1] == path.stat().st_size and seen == sorted(seen)


def test_a_line_too_long_for_spans_falls_back_to_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "eve.json"
    path.write_text(
        '{"ip": "192.0.2.1"}\n' * 200 + '{"x": "' + "a" * 5000 + '"}\n' + '{"ip": "192.0.2.7"}\n' * 200
    )
    one: list[bytes] = []
    first = match_logs([path], INDEX, write=one.append, workers=1, chunk_size=1024)
    monkeypatch.setattr(spans, "MIN_SPAN", 100)
    monkeypatch.setattr(spans, "SPAN_SIZE", 1000)
    monkeypatch.setattr(readers_spans, "MAX_LINE", 4096)  # the first pass finds the long line...

    def planned(*args: object) -> None:
        raise AssertionError("spans were planned despite the long line")

    monkeypatch.setattr(spans, "plan", planned)  # ...so the log is read block by block
    two: list[bytes] = []
    second = match_logs([path], INDEX, write=two.append, workers=2, chunk_size=1024)
    # 192.0.2.1 hits the address and its network, 192.0.2.7 the network.
    assert b"".join(one) == b"".join(two) and len(b"".join(two).splitlines()) == 600
    assert first.logs == second.logs
