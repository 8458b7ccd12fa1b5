// The launch-day burst's clients for benchmarks/burst.py, in their own
// process so that the served app's Python process does only the app's work:
// TOTAL signed registrations (POST /v1/registrations, API.md's signature
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "t." + body>), each of a random
// phone by a random registrant, CONCURRENCY at a time over kept-alive
// connections (opened before the clock starts).
//
//   node benchmarks/burst_client.js PORT SPEC.json
//
// SPEC: {"registrants": [[id, secret], ...], "phones": [...], "total": n,
//        "concurrency": c, "seed": s}
// Prints one JSON line: {"seconds": s, "statuses": {"201": n, ...}, "failed": f}.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const http = require("http");

const [port, specFile] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });

function mulberry32(seed) {
  return function () {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function send(method, path, headers, body) {
  return new Promise((resolve) => {
    const request = http.request(
      { host: "127.0.0.1", port, path, method, headers, agent },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode));
      },
    );
    request.on("error", () => resolve(0));
    request.end(body);
  });
}

function register([registrantId, secret], phone, key) {
  const visit = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const body = Buffer.from(
    JSON.stringify({ customer: { name: "客户", phone }, visit_at: visit }),
  );
  const t = Math.floor(Date.now() / 1000);
  const mac = crypto.createHmac("sha256", secret);
  mac.update(`${t}.`);
  mac.update(body);
  return send(
    "POST",
    "/v1/registrations",
    {
      "Content-Type": "application/json",
      "Content-Length": body.length,
      "X-Registrant-Id": registrantId,
      "X-Signature": `t=${t},v1=${mac.digest("hex")}`,
      "Idempotency-Key": key,
    },
    body,
  );
}

async function main() {
  const random = mulberry32(spec.seed);
  const work = [];
  for (let n = 0; n < spec.total; n++) {
    const who = spec.registrants[Math.floor(random() * spec.registrants.length)];
    const phone = spec.phones[Math.floor(random() * spec.phones.length)];
    work.push([who, phone, `burst-${n}`]);
  }
  // one connection per worker, open before the clock starts (the server's
  // listen backlog is 5: a crowd of connects would wait on SYN retries)
  await Promise.all(Array.from({ length: spec.concurrency }, () => send("GET", "/", {}, undefined)));
  const statuses = {};
  let failed = 0;
  let next = 0;
  const began = process.hrtime.bigint();
  async function worker() {
    while (next < work.length) {
      const [who, phone, key] = work[next++];
      let status = 0;
      for (let attempt = 0; attempt < 5 && status === 0; attempt++) {
        status = await register(who, phone, key); // a dropped connection: again, same key
      }
      if (status === 0) failed++;
      statuses[status] = (statuses[status] || 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  agent.destroy();
  console.log(JSON.stringify({ seconds, statuses, failed }));
}

main();
