/**
 * The shared frame of dev-idp's HTML pages: escaping and one small layout.
 *
 * Pages are plain HTML forms (no script) so that a headless browser, the HTTP robot and a
 * person all drive them the same way.
 */

/** Escapes text for an HTML element or a double-quoted attribute. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = [
  'body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:40px 16px;color:#1d2330}',
  'main{max-width:380px;margin:0 auto;background:#fff;border-radius:8px;padding:24px 28px;box-shadow:0 1px 3px rgba(0,0,0,.15)}',
  'h1{font-size:1.4em;margin:0 0 12px}label{display:block;margin:12px 0 4px;font-weight:600}',
  'input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:8px;font-size:1em}',
  'button{margin:16px 8px 0 0;padding:8px 16px;font-size:1em;cursor:pointer}',
  '.error{color:#b00020;font-weight:600}.hint{color:#5b6270;font-size:.85em;margin-top:20px}',
  'code.user-code{font-size:1.6em;letter-spacing:.1em}',
].join('');

/** A complete page with the dev-idp frame around `body`. */
export function renderPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · keyfob dev-idp</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
