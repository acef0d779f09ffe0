// One load run with wrk (https://github.com/wg/wrk, Debian package `wrk`), for bench/http-bench.mjs and
// bench/graphql-bench.mjs: a fixed number of keep-alive connections for a fixed time, every answer
// checked by bench/wrk/check.lua. wrk is written in C and needs about a third of the CPU per request
// that autocannon (Node.js) needs, so on a machine whose cores the load tool shares with the server it
// takes less of them away (bench/README.md, "Why wrk").

import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const checkScript = join(dirname(fileURLToPath(import.meta.url)), "wrk", "check.lua");

/** wrk's version line, or an Error that says how to install it. */
export function wrkVersion() {
  try {
    // `wrk -v` prints its version and usage and exits with 1.
    const output = execFileSync("wrk", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return output.split("\n")[0].trim();
  } catch (e) {
    if (e.code === "ENOENT") throw new Error("wrk is not on PATH: install it (Debian/Ubuntu: apt-get install -y wrk)");
    return String(e.stdout ?? "").split("\n")[0].replace(/\s+Copyright.*$/, "").trim() || "wrk";
  }
}

// CPU seconds of this process's waited-for children (cutime + cstime, /proc/self/stat fields 16 and 17).
function childrenCpuSeconds(clockTicks) {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / clockTicks;
}

/**
 * Runs wrk against `url` and returns the run in the shape the benchmark scripts read:
 * requests.{average,total}, latency.{average,p50,p90,p99,p999,max} in ms, the counts of errors, timeouts,
 * non-2xx answers and mismatched bodies, 2xx (answers that passed the check), duration (s), and
 * clientCpuSeconds (wrk's user + system time).
 */
export async function runWrk({ url, method = "GET", headers = {}, body, expected, connections, duration, threads, clockTicks, timeoutSeconds = 10 }) {
  const env = {
    ...process.env,
    WRK_METHOD: method,
    WRK_BODY: body ?? "",
    WRK_CONTENT_TYPE: headers["content-type"] ?? "",
    WRK_ACCEPT: headers.accept ?? "",
  };
  if (expected !== undefined) env.WRK_EXPECT = expected;
  const args = ["-t", String(threads), "-c", String(connections), "-d", `${duration}s`, "--timeout", `${timeoutSeconds}s`, "-s", checkScript, url];
  const cpuBefore = childrenCpuSeconds(clockTicks);
  const { code, stdout, stderr } = await new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    // Bounded even if wrk itself hangs: stop it well after its own end.
    const guard = setTimeout(() => child.kill("SIGKILL"), (duration + timeoutSeconds + 15) * 1000);
    child.on("error", reject);
    child.on("close", (exitCode) => {
      clearTimeout(guard);
      resolve({ code: exitCode, stdout: out, stderr: err });
    });
  });
  const clientCpuSeconds = childrenCpuSeconds(clockTicks) - cpuBefore;
  const line = stdout.split("\n").find((l) => l.startsWith("WRK_SUMMARY "));
  if (code !== 0 || !line) {
    throw new Error(`wrk ${args.join(" ")} exited with ${code}: ${(stderr || stdout).trim().slice(0, 2000)}`);
  }
  const s = JSON.parse(line.slice("WRK_SUMMARY ".length));
  const seconds = s.durationMicros / 1e6;
  const ms = (micros) => micros / 1000;
  return {
    tool: "wrk",
    duration: seconds,
    requests: { total: s.requests, average: s.requests / seconds },
    latency: {
      average: ms(s.latencyMicros.mean),
      p50: ms(s.latencyMicros.p50),
      p90: ms(s.latencyMicros.p90),
      p99: ms(s.latencyMicros.p99),
      p999: ms(s.latencyMicros.p999),
      max: ms(s.latencyMicros.max),
    },
    errors: s.errors.connect + s.errors.read + s.errors.write,
    timeouts: s.errors.timeout,
    non2xx: s.non2xx,
    mismatches: s.mismatches,
    "2xx": s.ok,
    clientCpuSeconds,
    raw: s,
  };
}
