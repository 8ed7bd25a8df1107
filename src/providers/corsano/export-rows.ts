import { heartRateSampleRow, sampleColumns } from '../../export/sample-rows.js';
import type { ExportSample, Row, RowSource } from '../../export/tables.js';

/**
 * How Corsano's samples become export rows: bpm in `heart_rate`, the vital signs in
 * `vital_signs` (one measure a row), each at the offset Corsano gave (`timezone`).
 */

/** The stored series that are vital signs, and their unit (none where Corsano documents none). */
export const CORSANO_VITAL_SIGNS: Record<string, string | null> = {
  spo2: '%',
  respiration_rate: 'breaths/min',
  nibp_systolic: 'mmHg',
  nibp_diastolic: 'mmHg',
  temp_sk1: null,
  temp_sk2: null,
};

function vitalSignRow(measure: string, unit: string | null) {
  return (sample: ExportSample): Row<'vital_signs'> => Object.assign(sampleColumns(sample), { measure, value: sample.value, unit } satisfies Row<'vital_signs'>);
}

export const CORSANO_ROW_SOURCES: Record<string, RowSource[]> = {
  heart_rate: [{ kind: 'sample', provider: 'corsano', seriesType: 'bpm', toRow: heartRateSampleRow }],
  vital_signs: Object.entries(CORSANO_VITAL_SIGNS).map(([series, unit]): RowSource => ({ kind: 'sample', provider: 'corsano', seriesType: series, toRow: vitalSignRow(series, unit) })),
};
