'use strict';

/** Runs `work(item)` over `items`, at most `inFlight` at a time, in order of start. */
async function pool(items, inFlight, work) {
  let next = 0;
  const runners = Array.from({ length: Math.min(inFlight, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await work(item);
    }
  });
  await Promise.all(runners);
}

module.exports = { pool };
