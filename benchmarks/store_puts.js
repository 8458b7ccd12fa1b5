// The store's own ceiling for benchmarks/burst.py: conditional PutItems
// (attribute_not_exists, the registration's deciding write) sent to a
// DynamoDB endpoint from this separate, light process, CONCURRENCY at a time
// over kept-alive connections, with Node's http module only (no AWS SDK is
// installed; dynalite checks the Authorization header's form, not its
// signature).
//
//   node benchmarks/store_puts.js ENDPOINT TABLE TOTAL CONCURRENCY PREFIX
//
// Prints one JSON line: {"puts": n, "seconds": s, "rate": n/s, "failed": f}.
"use strict";

const http = require("http");

const [endpoint, table, totalArg, concurrencyArg, prefix] = process.argv.slice(2);
const total = Number(totalArg);
const concurrency = Number(concurrencyArg);
const url = new URL(endpoint);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const filler = "x".repeat(200);

function amzDate() {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
}

function put(n) {
  const body = JSON.stringify({
    TableName: table,
    Item: { k: { S: `${prefix}-${n}` }, v: { S: filler } },
    ConditionExpression: "attribute_not_exists(k)",
  });
  const date = amzDate();
  const headers = {
    "Content-Type": "application/x-amz-json-1.0",
    "Content-Length": Buffer.byteLength(body),
    "X-Amz-Target": "DynamoDB_20120810.PutItem",
    "X-Amz-Date": date,
    Authorization:
      `AWS4-HMAC-SHA256 Credential=bench/${date.slice(0, 8)}/cn-north-1/dynamodb/aws4_request, ` +
      "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0".repeat(64),
  };
  return new Promise((resolve) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path: "/", method: "POST", headers, agent },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode === 200));
      },
    );
    request.on("error", () => resolve(false));
    request.end(body);
  });
}

async function main() {
  let next = 0;
  let failed = 0;
  const began = process.hrtime.bigint();
  async function worker() {
    while (next < total) {
      const n = next++;
      if (!(await put(n))) failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  agent.destroy();
  console.log(JSON.stringify({ puts: total, seconds, rate: total / seconds, failed }));
}

main();
