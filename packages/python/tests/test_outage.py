"""QuestDB is SIGKILLed and stays down 30 s while a producer streams through the monitor: every row is stored
exactly once, and the accounting balances at every step."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from conftest import QuestDb, until
from tradewatch import Monitor


def test_sigkill_questdb_for_30s_during_a_stream_stores_every_row_once(questdb: QuestDb, tmp_path: Path, run_id: str) -> None:
    mon = Monitor("py-outage", instance=run_id, questdb=questdb.url, sample_interval=0,
                  writer_options={"spool_dir": str(tmp_path / "spool"), "retry_max": 1.0, "request_timeout": 3.0,
                                  "stats_interval": 0})
    sent = 0
    stop = threading.Event()
    raised: list[BaseException] = []

    def produce() -> None:
        nonlocal sent
        try:
            while not stop.is_set():
                mon.fetch("binanceusdm", "open_interest", "BTC/USDT:USDT", "ok", latency_ms=1.0, records=sent)
                sent += 1
                time.sleep(0.002)
        except BaseException as err:  # the test fails on any exception reaching the caller
            raised.append(err)

    producer = threading.Thread(target=produce)
    producer.start()
    until(lambda: mon.writer.stats().rows_written > 200, 60, "rows written before the kill")
    os.kill(questdb.pid(), signal.SIGKILL)
    until(lambda: mon.writer.stats().spool_rows > 0, 60, "rows spooled while QuestDB is down")
    time.sleep(30)  # QuestDB stays down 30 s: the scenario under test, not a wait for a result
    during = mon.writer.stats()
    assert during.balanced and not during.connected and during.rows_dropped == 0, during
    questdb.start()
    until(lambda: mon.writer.stats().spool_rows == 0, 120, "the spool replayed")
    time.sleep(0.5)
    stop.set()
    producer.join()
    stats = mon.shutdown()
    assert not raised, raised
    assert stats is not None and stats.balanced, stats
    assert (stats.rows_dropped, stats.rows_rejected, stats.rows_pending) == (0, 0, 0), stats
    assert stats.rows_spooled > 0 and stats.rows_replayed >= stats.rows_spooled
    questdb.wait_applied("tw_fetches")
    where = f"service = 'py-outage' AND instance = '{run_id}'"
    assert questdb.count("tw_fetches", where) == sent
    assert int(questdb.sql(f"SELECT count_distinct(records) n FROM tw_fetches WHERE {where}")[0]["n"]) == sent
