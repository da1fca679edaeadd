"""A Python reference daemon: what tradewatch's own daemon does, with ccxt from PyPI and the Python SDK.

It polls open interest and funding over REST and streams liquidations over websocket (ccxt.pro), with
``instrument_ccxt`` recording every REST call (tw_fetches, tw_errors, tw_rate_limits) and the websocket loop
(tw_connection_events, tw_connection_samples); the data itself goes to tw_open_interest, tw_funding_rates and
tw_liquidations through the monitor's hooks.

    python reference_daemon.py --exchange bybit --questdb http://127.0.0.1:9000 --seconds 60 \\
        [--rest http://127.0.0.1:P --ws ws://127.0.0.1:P]   # the exchange simulator's addresses

Without ``--rest``/``--ws`` it talks to the real exchange.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import ccxt.pro as ccxtpro

from tradewatch import Monitor
from tradewatch.instrument import instrument_ccxt


def simulator_options(exchange: str, rest: str, ws: str) -> dict[str, Any]:
    """ccxt options that point every URL at the simulator (docs/simulator.md, "Pointing ccxt at it")."""
    if exchange == "bybit":
        return {
            "urls": {"api": {
                "spot": rest, "futures": rest, "v2": rest, "public": rest, "private": rest,
                "ws": {"public": {k: f"{ws}/v5/public/{k}" for k in ("spot", "inverse", "option", "linear")},
                       "private": {"spot": {"unified": f"{ws}/v5/private", "nonUnified": f"{ws}/spot/private/v3"},
                                   "contract": f"{ws}/v5/private", "usdc": f"{ws}/trade/option/usdc/private/v1",
                                   "trade": f"{ws}/v5/trade"}},
            }},
            "options": {"fetchMarkets": {"types": ["linear"]}, "adjustForTimeDifference": False,
                        "defaultType": "swap", "defaultSubType": "linear"},
        }
    raise SystemExit(f"no simulator mapping for {exchange} in this example (bybit only)")


async def poll(ex: Any, mon: Monitor, symbols: list[str], interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for symbol in symbols:
            try:
                oi = await ex.fetch_open_interest(symbol)
                mon.open_interest(ex.id, symbol, float(oi.get("openInterestAmount") or 0.0),
                                  open_interest_value=oi.get("openInterestValue"), at=oi.get("timestamp"))
                fr = await ex.fetch_funding_rate(symbol)
                mon.funding_rate(ex.id, symbol, float(fr["fundingRate"]), mark_price=fr.get("markPrice"),
                                 index_price=fr.get("indexPrice"), next_funding_time=fr.get("fundingTimestamp"),
                                 at=fr.get("timestamp"))
            except Exception:
                pass  # recorded by the instrumentation (tw_fetches status, tw_errors); keep polling
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass


async def stream(ex: Any, mon: Monitor, symbol: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            for liq in await ex.watch_liquidations(symbol):
                side = liq.get("side")
                if side in ("buy", "sell") and liq.get("price") and liq.get("contracts"):
                    mon.liquidation(ex.id, liq["symbol"], side, float(liq["price"]), float(liq["contracts"]),
                                    value_usd=liq.get("quoteValue"), exchange_time=liq.get("timestamp"))
        except Exception:
            await asyncio.sleep(1)  # disconnected (recorded); ccxt reconnects on the next watch call


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--exchange", default="bybit")
    p.add_argument("--symbols", default="BTC/USDT:USDT,ETH/USDT:USDT")
    p.add_argument("--questdb", default="http://127.0.0.1:9000")
    p.add_argument("--service", default="py-reference-daemon")
    p.add_argument("--instance", default=None)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until SIGINT/SIGTERM)")
    p.add_argument("--rest")
    p.add_argument("--ws")
    a = p.parse_args()
    mon = Monitor(a.service, instance=a.instance, questdb=a.questdb, sample_interval=1.0)
    options = simulator_options(a.exchange, a.rest, a.ws) if a.rest and a.ws else {}
    ex = instrument_ccxt(getattr(ccxtpro, a.exchange)(options), mon)
    symbols = a.symbols.split(",")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if a.seconds:
        loop.call_later(a.seconds, stop.set)
    try:
        await ex.load_markets()
        tasks = [asyncio.create_task(poll(ex, mon, symbols, a.interval, stop)),
                 *(asyncio.create_task(stream(ex, mon, s, stop)) for s in symbols)]
        await stop.wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await ex.close()
        stats = mon.close(reason="stop")
        ok = stats is not None and stats.balanced and stats.rows_pending == 0 and stats.rows_dropped == 0
        print(f"{'stopped cleanly' if ok else 'stopped with rows not delivered'}: {stats}")


if __name__ == "__main__":
    asyncio.run(main())
