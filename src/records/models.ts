/**
 * Model identifiers: `<builder KeyRef>/<name>@<version>`. Records carry the parts (the builder
 * is the record's author); the policy and the server's queries key models by this string.
 */
import { RecordError } from './errors.js';
import { isKeyRef, preview, type KeyRef } from './keys.js';

export type ModelId = string;

export interface ModelRef {
  builder: KeyRef;
  name: string;
  version: string;
}

const MODEL_ID_SHAPE = /^(ed25519:[0-9a-f]{64})\/([A-Za-z0-9][A-Za-z0-9._-]{0,99})@([A-Za-z0-9][A-Za-z0-9._+-]{0,63})$/;

export function formatModelId(model: ModelRef): ModelId {
  return `${model.builder}/${model.name}@${model.version}`;
}

export function parseModelId(id: string, field = 'model'): ModelRef {
  const m = MODEL_ID_SHAPE.exec(id);
  if (!m || !isKeyRef(m[1])) throw new RecordError('bad-field', `must be <ed25519 key>/<name>@<version>, got ${preview(id)}`, field);
  return { builder: m[1], name: m[2], version: m[3] };
}
