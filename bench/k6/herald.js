// k6 load test for Herald's POST /v1/notifications: the contract the bench
// suite measures (same body, Bearer key, a fresh Idempotency-Key per request,
// 202 only after the JetStream ack), as five scenarios. Pick one with
// SCENARIO (default smoke); see README.md beside this file.
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=… -e SCENARIO=load bench/k6/herald.js
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";

const BASE_URL = __ENV.BASE_URL || "http://127.0.0.1:8080";
const API_KEY = __ENV.API_KEY || "";
const SCENARIO = __ENV.SCENARIO || "smoke";
// The rate a load test holds, in requests/s; stress and spike scale from it.
const RATE = Number(__ENV.RATE || 1000);

const SCENARIOS = {
  // A handful of requests: does the contract hold at all?
  smoke: { executor: "constant-vus", vus: 2, duration: "30s" },
  // The expected steady rate (open model: arrivals do not wait for answers).
  load: {
    executor: "ramping-arrival-rate",
    startRate: 0,
    timeUnit: "1s",
    preAllocatedVUs: 100,
    maxVUs: 500,
    stages: [
      { duration: "1m", target: RATE },
      { duration: "5m", target: RATE },
      { duration: "30s", target: 0 },
    ],
  },
  // Step past the expected rate to find where latency or errors break.
  stress: {
    executor: "ramping-arrival-rate",
    startRate: 0,
    timeUnit: "1s",
    preAllocatedVUs: 200,
    maxVUs: 2000,
    stages: [
      { duration: "1m", target: RATE },
      { duration: "2m", target: RATE * 2 },
      { duration: "2m", target: RATE * 3 },
      { duration: "2m", target: RATE * 4 },
      { duration: "1m", target: 0 },
    ],
  },
  // A sudden burst of 5× and back: the gateway must shed nothing it acknowledged.
  spike: {
    executor: "ramping-arrival-rate",
    startRate: RATE,
    timeUnit: "1s",
    preAllocatedVUs: 200,
    maxVUs: 2000,
    stages: [
      { duration: "30s", target: RATE },
      { duration: "10s", target: RATE * 5 },
      { duration: "1m", target: RATE * 5 },
      { duration: "10s", target: RATE },
      { duration: "1m", target: RATE },
    ],
  },
  // The steady rate for an hour: latency and errors must not drift (watch RSS on the side).
  soak: { executor: "constant-arrival-rate", rate: RATE, timeUnit: "1s", duration: "1h", preAllocatedVUs: 100, maxVUs: 500 },
};

// Per scenario: what "passing" means. Errors are never acceptable below the
// stress rates; latency bars follow the target's p99 ≤ 10 ms at steady load.
const THRESHOLDS = {
  smoke: { http_req_failed: ["rate==0"], checks: ["rate==1"] },
  load: { http_req_failed: ["rate<0.001"], http_req_duration: ["p(99)<10"], checks: ["rate>0.999"] },
  stress: { http_req_failed: ["rate<0.05"], http_req_duration: ["p(99)<250"] },
  spike: { http_req_failed: ["rate<0.01"], http_req_duration: ["p(99)<500"] },
  soak: { http_req_failed: ["rate<0.001"], http_req_duration: ["p(99)<10"], checks: ["rate>0.999"] },
};

if (!SCENARIOS[SCENARIO]) throw new Error(`SCENARIO must be one of ${Object.keys(SCENARIOS).join(", ")}`);
if (!API_KEY) throw new Error("set API_KEY (one of the gateway's HERALD_API_KEYS)");

export const options = {
  scenarios: { [SCENARIO]: SCENARIOS[SCENARIO] },
  thresholds: THRESHOLDS[SCENARIO],
  summaryTrendStats: ["med", "p(90)", "p(99)", "p(99.9)", "max"],
};

const BODY = JSON.stringify({ userId: "bench-user", channel: "in_app", payload: { title: "Bench", body: "Hello" } });

export function setup() {
  // One id per run so keys never collide with an earlier run's within the 24 h idempotency window.
  return { runId: `${Date.now().toString(36)}` };
}

export default function (data) {
  const res = http.post(`${BASE_URL}/v1/notifications`, BODY, {
    headers: {
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
      "idempotency-key": `k6-${data.runId}-${exec.scenario.name}-${exec.scenario.iterationInTest}`,
    },
  });
  check(res, {
    "202 accepted": (r) => r.status === 202,
    "has an id": (r) => r.status === 202 && typeof r.json("id") === "string",
  });
}
