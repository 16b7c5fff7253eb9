// `npm run schema:export`: writes schemas/event.schema.json.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventJsonSchemaText } from './json-schema.ts';

const target = fileURLToPath(new URL('./event.schema.json', import.meta.url));
writeFileSync(target, eventJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
