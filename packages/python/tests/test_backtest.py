"""A whole backtest posted from pandas DataFrames lands in the trading tables under its run, and the Trading
dashboard's run variable (its query, run verbatim on QuestDB) lists it."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from conftest import REPO, QuestDb, until
from tradewatch import Writer
from tradewatch.backtest import post_backtest


def frames(n: int, start: datetime) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    ts = pd.date_range(start, periods=n, freq="1h", tz="UTC")
    price = 90_000 + rng.standard_normal(n).cumsum() * 100
    fills = pd.DataFrame({
        "ts": ts, "exchange": "bybit", "symbol": "BTC/USDT:USDT", "order_id": [f"o{i}" for i in range(n)],
        "fill_id": [f"f{i}" for i in range(n)], "side": np.where(np.arange(n) % 2 == 0, "buy", "sell"),
        "price": price, "amount": 0.01, "fee": 0.1, "fee_currency": "USDT", "liquidity": "taker",
    })
    orders = pd.DataFrame({
        "ts": ts, "exchange": "bybit", "symbol": "BTC/USDT:USDT", "order_id": [f"o{i}" for i in range(n)],
        "side": fills["side"], "status": "filled", "type": "market", "amount": 0.01, "filled": 0.01,
    })
    qty = np.where(np.arange(n) % 2 == 0, 0.01, 0.0)
    positions = pd.DataFrame({"ts": ts, "exchange": "bybit", "symbol": "BTC/USDT:USDT", "quantity": qty,
                              "mark_price": price, "exposure": qty * price})
    pnl = pd.DataFrame({"realized": rng.standard_normal(n).cumsum(), "unrealized": 0.0, "equity": 10_000.0,
                        "open_orders": 0}, index=ts)
    return {"fills": fills, "orders": orders, "positions": positions, "pnl": pnl}


def test_a_backtest_from_dataframes_lands_under_its_run_and_shows_in_the_trading_dashboard(questdb: QuestDb, run_id: str) -> None:
    n = 2000
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=200)
    f = frames(n, start)
    f["fills"].loc[5, "side"] = "long"          # not in the vocabulary
    f["fills"].loc[6, "price"] = float("nan")   # required, not finite
    f["orders"].loc[7, "ts"] = pd.Timestamp("1999-12-31", tz="UTC")
    w = Writer(questdb.url)
    report = post_backtest(w, "py-bt", run_id, service="py-backtest", **f)
    stats = w.close()
    assert report.flushed and stats.balanced and stats.rows_rejected == 0 and stats.rows_dropped == 0, (report, stats)
    assert report.tables["tw_fills"].refused == 2 and report.tables["tw_orders"].refused == 1, report
    assert "side must be one of buy, sell" in " ".join(report.tables["tw_fills"].reasons)
    assert report.posted == 4 * n - 3 and stats.rows_written == 4 * n - 3
    where = f"run_id = '{run_id}' AND mode = 'backtest' AND strategy = 'py-bt'"
    for table, expected in (("tw_fills", n - 2), ("tw_orders", n - 1), ("tw_positions", n), ("tw_strategy_pnl", n)):
        questdb.wait_applied(table)
        assert questdb.count(table, where) == expected, table
    row = questdb.sql(f"SELECT price, side, liquidity, fee_currency FROM tw_fills WHERE {where} AND fill_id = 'f10'")[0]
    assert abs(row["price"] - f["fills"].loc[10, "price"]) < 1e-6 and row["side"] == "buy" and row["liquidity"] == "taker"

    with open(os.path.join(REPO, "deploy/grafana/provisioning/dashboards/trading.json"), encoding="utf-8") as fh:
        variables = {v["name"]: v["query"] for v in json.load(fh)["templating"]["list"]}
    frm, to = start.strftime("%Y-%m-%dT%H:%M:%S.000000Z"), datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    # Grafana's QuestDB macros for one selected strategy and mode: $__conditionalAll(cond, $v) is cond.
    sql = re.sub(r"\$__conditionalAll\(([^,]+\)), \$\w+\)", r"\1", variables["run"])
    sql = sql.replace("$__fromTime", f"'{frm}'").replace("$__toTime", f"'{to}'")
    sql = sql.replace("$strategy", "'py-bt'").replace("$mode", "'backtest'")
    until(lambda: run_id in [r["run_id"] for r in questdb.sql(sql)], 120, "the run in the Trading dashboard's run variable")
