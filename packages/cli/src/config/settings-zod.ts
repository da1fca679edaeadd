import { z } from 'zod';
import { settingDefaults, type SettingSpec, type SettingsSpec } from '@tradewatch/sdk/storage';

/**
 * The zod schema of a settings spec declared in the SDK (storage/writer-settings.ts), so the config composes the
 * writer's settings with the same kinds, limits, defaults and strictness as createWriter() validates them, while
 * the SDK itself stays free of zod.
 */
export function zodFromSettingsSpec(spec: SettingsSpec): z.ZodObject {
  const shape = Object.fromEntries(Object.entries(spec).map(([name, setting]) => [name, zodFromSetting(setting)]));
  return z.object(shape).strict();
}

function zodFromSetting(setting: SettingSpec): z.ZodType {
  switch (setting.kind) {
    case 'int': {
      const bounded = z.number().int().min(setting.min);
      const int = setting.max === undefined ? bounded : bounded.max(setting.max);
      return withDefault(int.describe(setting.doc), setting.default);
    }
    case 'string':
      return withDefault(z.string().min(setting.minLength).describe(setting.doc), setting.default);
    case 'enum':
      return withDefault(z.enum(setting.values as [string, ...string[]]).describe(setting.doc), setting.default);
    case 'object': {
      const defaults = settingDefaults(setting.settings);
      return zodFromSettingsSpec(setting.settings).describe(setting.doc).default(() => structuredClone(defaults));
    }
  }
}

function withDefault<T extends z.ZodType>(schema: T, value: z.input<T> | undefined): z.ZodType {
  return value === undefined ? schema.optional() : schema.default(value as never);
}
