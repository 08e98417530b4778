/**
 * `keyfob service-principal create|list|delete`: machine identities at the control plane of
 * the profile (exchange or assume_user), with its control-plane token. The secret of a created
 * principal is shown once on stdout, or with `--save-profile P` only stored, as a machine
 * profile ready for `keyfob token --profile P`.
 */
import { InvalidInput } from '@keyfob/core';
import { appEnvVar, type Command, jsonFlag, noInputFlag, profileFlags } from '../command.js';
import { keyValueTable, paint, personIsThere, sanitize, table, toJson } from '../io.js';
import { openKeyfob, optionalString } from './shared.js';

export const servicePrincipal: Command = {
  name: 'service-principal',
  summary: 'create, list or delete service principals at the control plane',
  usage: 'create --name N [--description D] [--save-profile P] | list | delete ID',
  examples: [
    { what: 'create one and show its secret once', run: 'keyfob service-principal create --name ci' },
    {
      what: 'create one straight into a machine profile (the secret only in the store)',
      run: 'keyfob service-principal create --name ci --save-profile ci && keyfob token --profile ci',
    },
    { what: 'the principals of your tenant, as JSON', run: 'keyfob service-principal list --json' },
    { what: 'delete one (its tokens stop working)', run: 'keyfob service-principal delete CLIENT_ID' },
  ],
  description:
    "Uses the control-plane token of the profile (an exchange or assume_user provider's). The secret is\nprinted once; with --save-profile it is never printed, only stored.",
  completes: ['create', 'list', 'delete'],
  maxPositionals: 2,
  flags: {
    ...profileFlags,
    ...jsonFlag,
    name: { type: 'string', value: 'N', description: 'create: the name' },
    description: { type: 'string', value: 'D', description: 'create: a description' },
    'save-profile': {
      type: 'string',
      value: 'P',
      description: 'create: store it as machine profile P instead of printing its secret',
    },
    tenant: { type: 'string', value: 'ID', description: 'the tenant, for a profile of an exchange provider' },
    ...noInputFlag,
  },
  async run({ io, app, values, positionals }) {
    const [sub, id] = positionals;
    const call = {
      ...(optionalString(values.profile) !== undefined ? { profile: optionalString(values.profile) } : {}),
      ...(optionalString(values.tenant) !== undefined ? { tenant: optionalString(values.tenant) } : {}),
    };
    const asJson = values.json === true || !io.stdout.isTTY;
    const colors = paint(io.stdout, io.env);
    if (sub !== 'delete' && id !== undefined)
      throw new InvalidInput(`service-principal ${sub} takes no argument`);
    if (sub === 'create') {
      const name = optionalString(values.name);
      if (!name)
        throw new InvalidInput(`name it: \`${app.commandPrefix} service-principal create --name N\``);
      const kf = await openKeyfob(io, app, values);
      const saveProfile = optionalString(values['save-profile']);
      const description = optionalString(values.description);
      const result = await kf.servicePrincipals.create({
        name,
        ...call,
        ...(description !== undefined ? { description } : {}),
        ...(saveProfile !== undefined ? { saveProfile } : {}),
        personPresent: personIsThere(io, appEnvVar(app, 'NO_PROMPT'), values['no-input'] === true),
      });
      const p = result.servicePrincipal;
      const shown: Record<string, string | null> = {
        client_id: p.clientId,
        ...(result.clientSecret !== null ? { client_secret: result.clientSecret } : {}),
        name: p.name,
        description: p.description,
        tenant_id: p.tenantId,
        token_endpoint: p.tokenEndpoint,
        token_endpoint_auth_method: p.tokenEndpointAuthMethod,
        ...(result.savedProfile !== null ? { profile: result.savedProfile } : {}),
      };
      for (const notice of result.notices) io.stderr.write(`${sanitize(notice)}\n`);
      io.stdout.write(
        asJson
          ? toJson(shown, 2)
          : keyValueTable(
              Object.entries(shown).map(([k, v]) => [k, v ?? '']),
              colors,
            ),
      );
      io.stderr.write(
        result.savedProfile !== null
          ? `Saved service principal ${sanitize(p.clientId)} as profile ${result.savedProfile}; its secret is only in the store. Try \`${app.commandPrefix} token --profile ${result.savedProfile}\`.\n`
          : 'Save the client secret now: it is not shown again.\n',
      );
      return 0;
    }
    if (sub === 'list') {
      const kf = await openKeyfob(io, app, values);
      const list = await kf.servicePrincipals.list(call);
      const rows = list.map((p) => ({
        client_id: p.clientId,
        name: p.name,
        description: p.description,
        tenant_id: p.tenantId,
        created_at: p.createdAt,
      }));
      io.stdout.write(
        asJson
          ? toJson({ service_principals: rows }, 2)
          : table(
              ['CLIENT ID', 'NAME', 'TENANT', 'CREATED', 'DESCRIPTION'],
              rows.map((r) => [r.client_id, r.name, r.tenant_id, r.created_at ?? '', r.description ?? '']),
              colors,
            ),
      );
      return 0;
    }
    if (sub === 'delete') {
      if (!id) throw new InvalidInput(`name it: \`${app.commandPrefix} service-principal delete CLIENT_ID\``);
      const kf = await openKeyfob(io, app, values);
      await kf.servicePrincipals.delete(id, call);
      io.stderr.write(`Deleted service principal ${sanitize(id)}.\n`);
      return 0;
    }
    throw new InvalidInput(
      `${sub === undefined ? 'choose' : `unknown subcommand ${sanitize(sub)}; choose`} one of create, list, delete: \`${app.commandPrefix} service-principal create --name N\``,
    );
  },
};
