/** `tradewatch demo`: the whole stack on one machine, and the paper strategy it runs beside the daemon. The public surface is this file. */
export { runDemo } from './run.js';
export { startPaperStrategy } from './paper-strategy.js';
