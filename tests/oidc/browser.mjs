// The browser's part of a sign-in, for the tests: follows redirects from URL
// with a cookie jar, as a browser would, until a page answers (or the loopback
// address the CLI listens on is reached, which it follows too). Prints the
// last status and body.
//
//   node browser.mjs URL [--stop-at PATH]
//
// With --stop-at, the first redirect to PATH is printed instead of followed
// (what an attacker who started a sign-in would hand someone else).
const jar = new Map();
let url = process.argv[2];
const stopAt = process.argv[3] === '--stop-at' ? process.argv[4] : undefined;
for (let hop = 0; hop < 20; hop++) {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  for (const set of res.headers.getSetCookie()) {
    const [pair] = set.split(';');
    const at = pair.indexOf('=');
    jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  const location = res.headers.get('location');
  if (res.status >= 300 && res.status < 400 && location) {
    url = new URL(location, url).toString();
    if (stopAt && new URL(url).pathname === stopAt) {
      console.log(url);
      process.exit(0);
    }
    continue;
  }
  console.log(res.status);
  console.log(await res.text());
  process.exit(0);
}
console.log('too many redirects');
process.exit(1);
