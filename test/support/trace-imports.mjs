// Loaded with `node --import`: records every module the process loads, ES modules (through a
// resolve hook) and CommonJS (through Module._load), into the file named by
// KEYFOB_TEST_IMPORT_TRACE, so a test can prove what a command did not load.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const file = process.env.KEYFOB_TEST_IMPORT_TRACE;

register(
  `data:text/javascript,${encodeURIComponent(`
    import { appendFileSync } from 'node:fs';
    const file = process.env.KEYFOB_TEST_IMPORT_TRACE;
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      if (file) appendFileSync(file, result.url + '\\n');
      return result;
    }
  `)}`,
);

const load = Module._load;
Module._load = function traced(request, parent, isMain) {
  if (file) {
    let resolved = request;
    try {
      resolved = Module._resolveFilename(request, parent, isMain);
    } catch {
      // unresolvable: record the request as written
    }
    appendFileSync(file, `${resolved}\n`);
  }
  return load.apply(this, [request, parent, isMain]);
};
