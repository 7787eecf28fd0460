import { describe, expect, it } from 'vitest';
import { failureCatalogue } from './catalogue';
import { paramsJsonSchema } from './params';

describe('paramsJsonSchema', () => {
  it("describes every variant's parameters as a JSON Schema object for tool inputs", () => {
    for (const v of failureCatalogue.variants()) {
      const schema = paramsJsonSchema(v.params);
      expect(schema.type, `${v.mode}/${v.id}`).toBe('object');
      expect(schema.additionalProperties, `${v.mode}/${v.id}`).toBe(false);
    }
    const angles = paramsJsonSchema(failureCatalogue.variant('invalid_angles', 'gantry').params);
    expect(angles.properties).toMatchObject({ invalidValue: { type: 'number', default: 400 } });
    const future = paramsJsonSchema(
      failureCatalogue.variant('timestamp_inconsistencies', 'future_timestamp').params,
    );
    const reference = (future.properties as Record<string, { anyOf: { type?: string; format?: string }[] }>)
      .reference!;
    expect(reference.anyOf.some((s) => s.type === 'string' && s.format === 'date-time')).toBe(true);
    expect(future.required ?? []).toEqual([]);
  });
});
