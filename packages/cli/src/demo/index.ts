/** The paper strategy that `tradewatch demo` runs beside the daemon. The public surface is this file. */
export { startPaperStrategy } from './paper-strategy.js';
