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
