import { z } from 'zod';

/** `true`/`false` from YAML, or `true`/`false`/`1`/`0` from an environment variable or flag. */
export const booleanSetting = (fallback: boolean) =>
  z
    .preprocess((value) => {
      if (typeof value !== 'string') return value;
      const text = value.trim().toLowerCase();
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      return value;
    }, z.boolean())
    .default(fallback);
