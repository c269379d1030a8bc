"""Smoke tests of the benchmarks: every scenario runs in --quick mode (tiny payloads, one or two runs), so the
benchmarks cannot rot unnoticed. They check that each scenario completes and that its correctness columns
(errors, lost keys, validation issues) are clean; they assert nothing about speed.
"""
from __future__ import annotations

import pytest

from bench import run as bench_run
from bench.common import Context, Table

pytestmark = pytest.mark.e2e  # real subprocesses and the emulators


@pytest.fixture(scope="module")
def ctx(emulators, tmp_path_factory):
    with Context(quick=True, emulators=emulators, workdir=tmp_path_factory.mktemp("bench")) as context:
        yield context


def tables(ctx: Context, name: str) -> list[Table]:
    out: list[str] = []
    result = bench_run.run([name], ctx, emit=out.append)
    assert result and all(t.rows for t in result)
    assert all(t.markdown().startswith("### ") for t in result) and len(out) == len(result) + 1
    return result


def test_latency(ctx):
    (table,) = tables(ctx, "latency")
    assert [(r[0], r[1].split()[0]) for r in table.rows] == [
        ("embedded", "typical"), ("embedded", "heavy"), ("emulators", "typical"), ("emulators", "heavy")]
    assert table.column("errors") == [0, 0, 0, 0]
    assert table.column("lost keys") == [0, 0, 0, 0]
    assert all(p > 0 for p in table.column("peak RSS MB"))


def test_seed_algorithm(ctx):
    (table,) = tables(ctx, "seed_algorithm")
    assert [r[1].split()[0] for r in table.rows] == ["typical"] * 3  # embedded + model, stand-in, + 5 ms
    assert all(r.endswith("×") for r in table.column("ratio"))
    assert isinstance(table.column("seed requests")[0], int) and table.column("seed requests")[0] > 100


def test_floor(ctx):
    floor, phases = tables(ctx, "floor")
    assert [r[0].split()[0] for r in floor.rows] == ["typical", "heavy"]
    assert all(f > 0 for f in floor.column("floor ms"))
    assert len(phases.rows) == 2


def test_scale(ctx):
    (table,) = tables(ctx, "scale")
    assert table.column("users at once") == [1, 4]
    assert table.column("errors") == [0, 0] and table.column("lost keys") == [0, 0]


def test_sweep(ctx):
    (table,) = tables(ctx, "sweep")
    assert set(table.column("issues")) == {0}
    by_users: dict = {}
    for users, docs_read in zip(table.column("K users"), table.column("sweep 1 docs read"), strict=True):
        by_users.setdefault(users, set()).add(docs_read)
    assert all(len(v) == 1 for v in by_users.values())  # flat in the number of messages


def test_command_line(tmp_path, capsys):
    out = tmp_path / "floor.md"
    assert bench_run.main(["--scenario", "floor", "--quick", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("## Benchmarks") and "### floor" in text and "× floor" in text
    assert "### floor" in capsys.readouterr().out


def test_hostile(ctx):
    (table,) = tables(ctx, "hostile")
    rows = {r[0]: r for r in table.rows}
    assert len(rows) == 6
    assert all(r[3] in (200, 413) for r in table.rows)  # bounded: kept whole, or refused; never a 5xx
    assert rows["`{pwd: 1}` items (vault writes)"][4] == "TOO_MANY_SECRETS"
    assert rows["one session of `0` messages, whole body"][3] == 200


def test_counters(ctx):
    (table,) = tables(ctx, "counters")
    assert len(table.rows) == 16
    assert {r[table.columns.index("lost")] for r in table.rows if r[0] == "embedded"} == {0}  # no etag races there
    new = [r for r in table.rows if r[1] == "new"]
    assert all(r[table.columns.index("half-counted")] == 0 for r in new)
    assert all(r[table.columns.index("concurrent")] in (1, 8) for r in table.rows)


def test_plan(ctx):
    (table,) = tables(ctx, "plan")
    assert [r[0] for r in table.rows] == ["typical", "heavy"]
    for row in table.rows:
        assert row[2] > row[1] > 0  # every key planned, chat messages as their own documents
        best, p25, mid = row[4:7]
        assert 0 < best <= p25 <= mid
