import { startDevIdp, keyfobConfig } from '@keyfob/dev-idp';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
const idp = await startDevIdp();
const home = mkdtempSync(join(tmpdir(), 'kf-manual-'));
writeFileSync(join(home, 'config.yaml'), keyfobConfig(idp, { machine: true, extra: 'profiles:\n  ci:\n    provider: robot\n' }));
console.log(`export KEYFOB_HOME=${home} ROBOT_SECRET=${idp.clients.machine.client_secret} ISSUER=${idp.issuer}`);
setInterval(() => {}, 100000);
