// The floor for `sync`: the same collection pages fetched one after another with Node's own
// fetch, parsed and dropped (nothing stored). Usage: node bench/oura-pages.mjs URL FROM TO TYPES USERS
const [url, from, to, types, users] = process.argv.slice(2);
let documents = 0;
for (const user of users.split(',')) {
  for (const type of types.split(',')) {
    let next = null;
    do {
      const query = new URLSearchParams({ start_date: from, end_date: to, ...(next ? { next_token: next } : {}) });
      const res = await fetch(`${url}/v2/usercollection/${type}?${query}`, { headers: { authorization: `Bearer bench-token-${user}` } });
      if (res.status !== 200) throw new Error(`${res.status} from ${res.url}`);
      const page = await res.json();
      documents += page.data.length;
      next = page.next_token;
    } while (next);
  }
}
console.log(documents);
