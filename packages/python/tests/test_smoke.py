import socket

from conftest import QuestDb
from tradewatch import Monitor


def test_fetch_rows_land(questdb: QuestDb, run_id: str) -> None:
    mon = Monitor("py-smoke", instance=run_id, questdb=questdb.url, sample_interval=0)
    for i in range(10):
        mon.fetch("binanceusdm", "open_interest", "BTC/USDT:USDT", "ok", latency_ms=12.5, records=i)
    stats = mon.shutdown()
    assert stats is not None and stats.balanced and stats.rows_written == 13  # start, 10 fetches, the final sample, stop, stats
    questdb.wait_applied("tw_fetches")
    assert questdb.count("tw_fetches", f"instance = '{run_id}'") == 10


def test_process_samples_name_host_and_version(questdb: QuestDb, run_id: str) -> None:
    # The fleet view's host and version columns come from every sample, as in the TypeScript SDK.
    mon = Monitor("py-smoke", instance=run_id, version="2.3.4", host="py-box", questdb=questdb.url, sample_interval=0)
    mon.sample()
    mon.shutdown()
    questdb.wait_applied("tw_process_samples")
    rows = questdb.sql(f"SELECT host, version FROM tw_process_samples WHERE instance = '{run_id}'")
    assert len(rows) == 2 and all(r == {"host": "py-box", "version": "2.3.4"} for r in rows), rows
    default = Monitor("py-smoke", instance=f"{run_id}-default", questdb=questdb.url, sample_interval=0)
    default.shutdown()
    questdb.wait_applied("tw_process_samples")
    rows = questdb.sql(f"SELECT host FROM tw_process_samples WHERE instance = '{run_id}-default'")
    assert rows == [{"host": socket.gethostname()}], rows


def test_the_session_server_has_a_small_footprint(questdb: QuestDb) -> None:
    # conftest starts it with `tradewatch questdb start --small-footprint`: QuestDB itself reports the setting live.
    # (With the 16 MiB default the session's server grew to nearly 10 GB.)
    params = {r["property_path"]: r for r in questdb.sql("SHOW PARAMETERS")}
    page = params["cairo.writer.data.append.page.size"]
    assert page["value"] == "256K" and page["value_source"] == "conf", page
