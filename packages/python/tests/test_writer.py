"""The writer's guarantees against a real QuestDB: quarantine of rejected rows with the rest of the batch
delivered, the spool across restarts (and across languages: the TypeScript writer replays a Python spool and vice
versa), exact accounting."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from conftest import REPO, QuestDb, free_port
from tradewatch import Writer


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_a_rejected_row_is_quarantined_and_the_rest_of_its_batch_lands(questdb: QuestDb, tmp_path: Path, run_id: str) -> None:
    base = time.time_ns() - 10_000_000_000
    bad = {50, 51, 120, 199}
    lines = []
    for i in range(200):
        value = f'"oops {i}"' if i in bad else f"{i}i"
        lines.append(f"tw_storage_size,service=pyq,instance={run_id},store=s{i} bytes={value} {base + i * 1000}\n")
    w = Writer(questdb.url, spool_dir=str(tmp_path / "spool"), service=None)
    w.write_payload("".join(lines).encode(), 200)
    for i in range(200, 250):
        w.write("tw_storage_size", {"ts": (base + i * 1000) // 1000, "service": "pyq", "instance": run_id, "store": f"s{i}", "bytes": i})
    stats = w.close()
    assert (stats.rows_written, stats.rows_rejected, stats.rows_dropped, stats.rows_pending) == (246, 4, 0, 0), stats
    assert stats.balanced
    assert "cast error" in (stats.last_error or "") or "bytes" in (stats.last_error or "")
    questdb.wait_applied("tw_storage_size")
    assert questdb.count("tw_storage_size", f"instance = '{run_id}'") == 246
    assert questdb.count("tw_storage_size", f"instance = '{run_id}' AND store IN ('s50','s51','s120','s199')") == 0
    entries = [json.loads(line) for f in (tmp_path / "spool" / "quarantine").iterdir() for line in f.read_text().splitlines()]
    assert sorted(int(e["line"].split("store=s")[1].split(" ")[0]) for e in entries) == sorted(bad)
    for e in entries:
        assert e["table"] == "tw_storage_size" and e["status"] == 400 and e["errorId"]
        assert "bytes" in e["error"] and "cast error" in e["error"], e["error"]


def test_rows_spooled_while_questdb_is_unreachable_are_replayed_by_a_restarted_writer(questdb: QuestDb, tmp_path: Path, run_id: str) -> None:
    spool = str(tmp_path / "spool")
    w = Writer(closed_url(), spool_dir=spool, retry_initial=0.05, retry_max=0.2, request_timeout=2)
    now = time.time_ns() // 1000
    for i in range(3000):
        w.write("tw_fetches", {"ts": now + i, "service": "pyspool", "instance": run_id, "exchange": "bybit",
                               "dataset": "oi", "symbol": "BTC/USDT:USDT", "status": "ok", "records": i})
    first = w.close(timeout=5)
    assert first.balanced and first.rows_written == 0 and first.spool_rows == 3000 and first.rows_dropped == 0, first
    assert first.spool_bytes > 0 and first.spool_max_bytes == 1 << 30, "the spool's size and its (default) bound"
    assert any(n.startswith("seg-") for n in os.listdir(spool))

    second = Writer(questdb.url, spool_dir=spool)
    assert second.stats().rows_recovered == 3000
    final = second.close()
    assert final.balanced and final.rows_written == 3000 and final.rows_replayed == 3000 and final.rows_pending == 0, final
    assert not any(n.startswith("seg-") for n in os.listdir(spool)), "a replayed spool leaves no segments"
    questdb.wait_applied("tw_fetches")
    assert questdb.count("tw_fetches", f"instance = '{run_id}'") == 3000
    assert int(questdb.sql(f"SELECT count_distinct(records) n FROM tw_fetches WHERE instance = '{run_id}'")[0]["n"]) == 3000


def _node(script: str, *args: str) -> str:
    done = subprocess.run(["node", "--import", "tsx", "--input-type=module", "-e", script, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


_TS_WRITER = """
import { createWriter } from './packages/sdk/src/storage/index.js';
import { schema } from './packages/sdk/src/schema/index.js';
const [url, spoolDir, instance, n] = process.argv.slice(-4);
const w = createWriter({ url, spoolDir, service: 'ts-spool', instance, logger: { warn() {}, error() {}, info() {} } });
const now = Date.now() * 1000;
for (let i = 0; i < Number(n); i++) w.write(schema.fetches, { ts: now + i, service: 'ts-spool', instance, exchange: 'bybit', dataset: 'oi', symbol: 'BTC/USDT:USDT', status: 'ok', records: i });
await w.close();
const s = w.stats();
console.log(JSON.stringify({ written: s.rowsWritten, spooled: s.spoolRows ?? null }));
"""


def test_one_spool_format_for_both_languages(questdb: QuestDb, tmp_path: Path, run_id: str) -> None:
    # Python spools, TypeScript replays.
    py_spool = str(tmp_path / "py")
    w = Writer(closed_url(), spool_dir=py_spool, retry_initial=0.05, retry_max=0.2, request_timeout=2)
    now = time.time_ns() // 1000
    for i in range(500):
        w.write("tw_fetches", {"ts": now + i, "service": "py-spool", "instance": run_id, "exchange": "bybit",
                               "dataset": "oi", "symbol": "BTC/USDT:USDT", "status": "ok", "records": i})
    assert w.close(timeout=5).spool_rows == 500
    _node(_TS_WRITER, questdb.url, py_spool, run_id, "0")
    questdb.wait_applied("tw_fetches")
    assert questdb.count("tw_fetches", f"service = 'py-spool' AND instance = '{run_id}'") == 500

    # TypeScript spools, Python replays.
    ts_spool = str(tmp_path / "ts")
    _node(_TS_WRITER, closed_url(), ts_spool, run_id, "700")
    assert any(n.startswith("seg-") for n in os.listdir(ts_spool))
    r = Writer(questdb.url, spool_dir=ts_spool)
    assert r.stats().rows_recovered == 700
    final = r.close()
    assert final.rows_written == 700 and final.balanced, final
    questdb.wait_applied("tw_fetches")
    assert questdb.count("tw_fetches", f"service = 'ts-spool' AND instance = '{run_id}'") == 700


def test_rows_written_from_threads_while_the_writer_closes_are_all_accounted(questdb: QuestDb, run_id: str) -> None:
    """Hooks queue rows without a lock: four threads write (two tables, the values and the row path) until the writer
    refuses; close() in the middle of it. Every call that returned is accepted and ends written or dropped, nothing
    stays pending, and the stats balance."""
    import threading

    w = Writer(questdb.url, stats_interval=0)
    fetches = w.encoder("tw_fetches")
    done = [0, 0, 0, 0]
    started = threading.Barrier(5)

    def produce(k: int) -> None:
        started.wait()
        i = 0
        try:
            while True:
                ts = time.time_ns() // 1000
                if k < 2:
                    w.write_values(fetches, fetches.check_values(ts, f"{run_id}-{k}", "i", "bybit", "oi", "BTC", "ok", 1.5, i))
                else:
                    w.write("tw_storage_size", {"ts": ts, "service": f"{run_id}-{k}", "instance": "i", "store": "s", "bytes": i})
                i += 1
                done[k] = i
        except Exception as err:  # WriterClosedError ends the loop; anything else fails the test below
            assert type(err).__name__ == "WriterClosedError", err

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    started.wait()
    deadline = time.monotonic() + 60
    while min(done) < 2000 and time.monotonic() < deadline:  # a condition, not a duration: each thread has written
        time.sleep(0.01)
    stats = w.close()
    for t in threads:
        t.join(30)
    after = w.stats()
    assert min(done) >= 2000, done
    assert after.rows_accepted == sum(done), (after, done)
    assert after.balanced and after.rows_pending == 0 and after.rows_rejected == 0, after
    assert after.rows_written + after.rows_dropped == sum(done), after
    assert stats.rows_written == after.rows_written


def test_a_producer_faster_than_delivery_is_not_blamed_on_questdb(run_id: str) -> None:
    """QuestDB reachable but slower than the producer (modelled by an HTTP endpoint that holds every request until
    released): past the memory bound the oldest rows are dropped and counted, and the writer says the producer
    outpaced delivery, not that QuestDB was unreachable."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    release = threading.Event()

    class Held(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            release.wait(60)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Held)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        w = Writer(f"http://127.0.0.1:{server.server_port}", max_buffered_bytes=16 * 1024, flush_rows=100,
                   request_timeout=120, stats_interval=0)
        fetches = w.encoder("tw_fetches")
        i = 0
        deadline = time.monotonic() + 60
        while w.stats().rows_dropped == 0 and time.monotonic() < deadline:  # a condition: until the bound is passed
            w.write_values(fetches, fetches.check_values(time.time_ns() // 1000, run_id, "i", "bybit", "oi", "BTC", "ok", 1.5, i))
            i += 1
        held = w.stats()
        assert held.rows_dropped > 0 and held.connected, held
        assert held.last_error is not None and "reachable: rows came faster than they could be delivered" in held.last_error, held.last_error
        assert "unreachable" not in held.last_error, held.last_error
        release.set()
        stats = w.close()
        assert stats.balanced and stats.rows_pending == 0, stats
        assert stats.rows_written + stats.rows_dropped == i, (stats, i)
    finally:
        release.set()
        server.shutdown()
