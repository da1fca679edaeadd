"""The hooks' text lines (``encode_line``: values tuples of tables whose fields are numbers, written on the writer's
thread without ``Buffer.row``) store exactly what the client's ``Buffer.row`` stores for the same rows, on a real
QuestDB: floats at the edges of their forms (exponents, subnormals, -0.0, float32 limits), integer limits, symbols
that need escaping, absent optional values, and rows mixed with ``Buffer.row`` rows in one batch, alone and in runs
(a run of rows of one encoder is encoded at once and cut into batches by its lines' sizes)."""

from __future__ import annotations

import time

from conftest import QuestDb, until
from tradewatch import Writer
from tradewatch.catalog import table
from tradewatch.rows import TableEncoder, values_order

FLOATS = [12.5, 0.1, 1e16, 1.5e21, 1e-7, 2.5e-300, 5e-324, -0.0, 1.7976931348623157e308, -123456.789, 3.4028234663852886e38]
SYMBOLS = ["BTC/USDT:USDT", "a,b c=d", "back\\slash", "ünï €", 'quo"te', "x" * 256]


def test_text_lines_store_what_buffer_row_stores(questdb: QuestDb, run_id: str) -> None:
    # Small batches (4 kB; a line is a few hundred bytes): runs of rows are cut into many.
    w = Writer(questdb.url, stats_interval=0, max_batch_bytes=4096)
    pos, fetch = w.encoder("tw_positions"), w.encoder("tw_fetches")
    assert pos.encode_line is not None and fetch.encode_line is not None
    assert values_order(table("tw_positions"))[:4] == ["ts", "strategy", "run_id", "mode"]
    now = time.time_ns() // 1000
    n = 0
    runs: list[tuple[TableEncoder, tuple[object, ...]]] = []
    for i, f in enumerate(FLOATS):
        for j, sym in enumerate(SYMBOLS):
            ts = now - 1_000_000 * n
            n += 1
            opt = None if (i + j) % 3 == 0 else -f
            row = {"ts": ts, "strategy": "lines", "exchange": "bybit", "symbol": sym, "quantity": f,
                   "entry_price": opt, "mark_price": f, "exposure": None, "unrealized": float(j)}
            w.write("tw_positions", {**row, "run_id": f"{run_id}-row", "mode": "live"})
            # The tuple path, in values_order: ts, symbols (strategy, run_id, mode, service, instance, exchange,
            # symbol), then quantity, entry_price, mark_price, exposure, unrealized.
            w.write_values(pos, pos.check_values(ts, "lines", f"{run_id}-line", "live", None, None, "bybit", sym,
                                                 f, opt, f, None, float(j)))
            # tw_fetches: FLOAT latency and INT records, at their limits, some absent.
            rec = [0, 2_147_483_647, -2_147_483_647, None][n % 4]
            lat = None if n % 5 == 0 else abs(f) if abs(f) <= 3.4028234663852886e38 else 3.4028234663852886e38
            frow = {"ts": ts, "service": f"{run_id}-row", "instance": "i", "exchange": "bybit", "dataset": "oi",
                    "symbol": sym, "status": "ok", "latency_ms": lat, "records": rec}
            w.write("tw_fetches", frow)
            w.write_values(fetch, fetch.check_values(ts, f"{run_id}-line", "i", "bybit", "oi", sym, "ok", lat, rec))
            # The same rows again, queued back to back further down: one run per table.
            runs.append((pos, pos.check_values(ts, "lines", f"{run_id}-run", "live", None, None, "bybit", sym,
                                               f, opt, f, None, float(j))))
            runs.append((fetch, fetch.check_values(ts, f"{run_id}-run", "i", "bybit", "oi", sym, "ok", lat, rec)))
    for enc in (pos, fetch):
        for e, values in runs:
            if e is enc:
                w.write_values(enc, values)
    stats = w.close()
    assert stats.balanced and stats.rows_written == 6 * n and stats.rows_rejected == 0, stats
    for t, key, cols in (
        ("tw_positions", "run_id", "ts, strategy, mode, exchange, symbol, quantity, entry_price, mark_price, exposure, unrealized"),
        ("tw_fetches", "service", "ts, instance, exchange, dataset, symbol, status, latency_ms, records"),
    ):
        questdb.wait_applied(t)
        until(lambda: questdb.count(t, f"{key} IN ('{run_id}-row', '{run_id}-line', '{run_id}-run')") == 3 * n, 30,
              f"{t} rows")
        by_row = questdb.sql(f"SELECT {cols} FROM {t} WHERE {key} = '{run_id}-row' ORDER BY ts")
        by_line = questdb.sql(f"SELECT {cols} FROM {t} WHERE {key} = '{run_id}-line' ORDER BY ts")
        by_run = questdb.sql(f"SELECT {cols} FROM {t} WHERE {key} = '{run_id}-run' ORDER BY ts")
        assert len(by_row) == n and by_line == by_row and by_run == by_row

