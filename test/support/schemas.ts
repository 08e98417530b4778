/**
 * Checks CLI JSON output against the JSON Schemas in `schemas/`, the shapes scripts rely on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';

const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addFormat('date-time', (value: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value));

export function assertMatchesSchema(
  name: 'token' | 'status' | 'check' | 'providers' | 'tenants' | 'proxy',
  value: unknown,
): void {
  const schema = JSON.parse(
    readFileSync(new URL(`../../schemas/${name}.schema.json`, import.meta.url), 'utf8'),
  );
  const validate = ajv.getSchema(schema.$id) ?? ajv.compile(schema);
  assert.ok(
    validate(value),
    `${name} output does not match schemas/${name}.schema.json: ${ajv.errorsText(validate.errors)}`,
  );
}
