// Preloaded into a child process (`node --require`): writes the process's peak resident set
// size in KiB to the file named by PEAK_RSS_FILE as the process exits, so a test can bound the
// memory a command used whatever it read.
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  const file = process.env.PEAK_RSS_FILE;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
});
