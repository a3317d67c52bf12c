"""Reading: gzip by magic bytes (several members, truncated), chunks, over-long lines, progress, reading
again, and memory bounded whatever the file's size."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import pytest

from commonspace.engine.readers import LogFormat, open_log
from commonspace.engine.records import Record

ZEEK_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#fields\tts\tquery\tpayload\n#types\ttime\tstring\tstring\n"
)


def test_gzip_is_recognised_by_its_magic_bytes(tmp_path: Path) -> None:
    plain = tmp_path / "looks.gz"
    plain.write_text("evil.example seen\n")
    packed = tmp_path / "looks-plain.log"
    packed.write_bytes(gzip.compress(b"evil.example seen\n"))
    assert (
        list(open_log(plain))
        == list(open_log(packed))
        == [Record(1, (("text", "evil.example"), ("text", "seen")))]
    )


def test_several_gzip_members_read_as_one_stream(tmp_path: Path) -> None:
    path = tmp_path / "rotated.log.gz"
    path.write_bytes(gzip.compress(b"one\ntwo\n") + gzip.compress(b"three\n"))
    assert [r.line for r in open_log(path, "text")] == [1, 2, 3]


def test_a_truncated_gzip_yields_what_it_holds_and_says_so(tmp_path: Path) -> None:
    text = "".join(f"line {i} host{i}.example\n" for i in range(20_000)).encode()
    packed = gzip.compress(text)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(packed[: len(packed) // 2])
    reader = open_log(path, chunk_size=4096)
    assert reader.format is LogFormat.TEXT
    records = list(reader)
    assert 1000 < len(records) < 20_000
    assert [r.line for r in records] == list(range(1, len(records) + 1))
    assert reader.read_error is not None


def test_empty_files(tmp_path: Path) -> None:
    for name, data in (("empty.log", b""), ("empty.log.gz", gzip.compress(b""))):
        path = tmp_path / name
        path.write_bytes(data)
        reader = open_log(path)
        assert reader.format is LogFormat.TEXT and list(reader) == [] and reader.read_error is None


def test_reading_twice_reads_afresh(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("a b\n\nc\n")
    reader = open_log(path)
    assert (
        list(reader)
        == list(reader)
        == [Record(1, (("text", "a"), ("text", "b"))), Record(3, (("text", "c"),))]
    )
    assert reader.bytes_read == reader.size == 7


def test_an_over_long_line_is_skipped_not_held(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(b"before\n" + b"x" * 10_000 + b"\nafter\n" + b"y" * 10_000)
    reader = open_log(path, "text", chunk_size=1000, max_line=4000)
    assert [r.line for r in reader] == [1, 3]
    assert reader.skipped == 2 and reader.skipped_lines == [2, 4]


def _peak(reader_path: Path, **kwargs: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in open_log(reader_path, **kwargs))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


SAMPLES = {
    # Long lines, so that the records are few and tracemalloc stays fast.
    "zeek": (ZEEK_HEADER, "{i}.0\thost{i}.example\t{payload}\n"),
    "csv": ("ts,host,payload\n", '{i}.0,host{i}.example,"{payload}"\n'),
    "eve": ("", '{{"event_type":"http","http":{{"hostname":"host{i}.example","payload":"{payload}"}}}}\n'),
}


@pytest.mark.parametrize(
    ("fmt", "gz"), [("zeek", False), ("zeek", True), ("csv", False), ("eve", False)], ids=str
)
def test_memory_is_bounded(tmp_path: Path, fmt: str, gz: bool) -> None:
    header, row = SAMPLES[fmt]
    block = "".join(row.format(i=i, payload="p" * 2000) for i in range(512)).encode()
    repeats = 50 * 2**20 // len(block) + 1
    path = tmp_path / ("big.log.gz" if gz else "big.log")
    with gzip.open(path, "wb", compresslevel=1) if gz else path.open("wb") as out:
        out.write(header.encode())
        for _ in range(repeats):
            out.write(block)
    count, peak = _peak(path)
    assert count == 512 * repeats
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB"  # about 4 MiB with 1 MiB chunks


def test_memory_is_bounded_without_newlines(tmp_path: Path) -> None:
    path = tmp_path / "one-line.log"
    with path.open("wb") as out:
        for _ in range(50):
            out.write(b"z" * 2**20)
    count, peak = _peak(path, max_line=8 * 2**20)
    assert count == 0
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB"  # max_line and a chunk


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_any_chunk_size_gives_the_same_lines(tmp_path: Path, gz: bool) -> None:
    text = "".join(f"{'w' * (i % 13)} v{i}\n" + "\n" * (i % 3) for i in range(60)) + "tail without newline"
    path = tmp_path / "lines.log"
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    expected = [
        Record(number, tuple(("text", token) for token in line.split()))
        for number, line in enumerate(text.split("\n"), 1)
        if line.strip()
    ]
    for chunk_size in (1, 2, 7, 64, 1 << 20):
        reader = open_log(path, "text", chunk_size=chunk_size, max_line=100)
        assert list(reader) == expected, chunk_size
        assert reader.skipped == 0
