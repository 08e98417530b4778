// Loaded with `node --import`: records every module URL the process resolves into the file
// named by KEYFOB_TEST_IMPORT_TRACE, so a test can prove what a command did not load.
import { register } from 'node:module';

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
