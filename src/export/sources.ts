import { OURA_ROW_SOURCES } from '../providers/oura/export-rows.js';
import { VITAL_ROW_SOURCES } from '../providers/vital/export-rows.js';
import { OPEN_WEARABLES_ROW_SOURCES } from '../providers/open-wearables/export-rows.js';
import { CORSANO_ROW_SOURCES } from '../providers/corsano/export-rows.js';
import type { ExportType, RowSource } from './tables.js';

/** Every provider's contribution to each table. A new provider adds its sources here. */
const PROVIDER_SOURCES: Partial<Record<string, readonly RowSource[]>>[] = [
  OURA_ROW_SOURCES,
  VITAL_ROW_SOURCES,
  OPEN_WEARABLES_ROW_SOURCES,
  CORSANO_ROW_SOURCES,
];

export function sourcesFor(type: ExportType): RowSource[] {
  return PROVIDER_SOURCES.flatMap((p) => p[type] ?? []);
}
