// test/pg-up.tmp.ts
import { spawnSync as spawnSync2 } from "node:child_process";

// test/support/postgres.ts
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";

// test/support/pubsub-emulator.ts
import { createServer } from "node:net";
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// test/support/postgres.ts
var TEST_POSTGRES_PASSWORD = "jack-test-secret";
function findPostgresBin() {
  const explicit = process.env.POSTGRES_BIN_DIR;
  if (explicit !== void 0 && explicit !== "") {
    return existsSync(join(explicit, "pg_ctl")) ? explicit : void 0;
  }
  const which = spawnSync("sh", ["-c", "command -v pg_ctl"], { encoding: "utf8" });
  const onPath = which.stdout.trim();
  if (which.status === 0 && onPath !== "") return onPath.replace(/\/pg_ctl$/, "");
  const debian = "/usr/lib/postgresql";
  if (!existsSync(debian)) return void 0;
  const versions = readdirSync(debian).filter((v) => existsSync(join(debian, v, "bin", "pg_ctl"))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === void 0 ? void 0 : join(debian, versions[0], "bin");
}
var asRoot = process.getuid?.() === 0;
function run(bin, tool, args, timeoutMs = 6e4) {
  const command = asRoot ? spawnSync("runuser", ["-u", "postgres", "--", join(bin, tool), ...args], {
    encoding: "utf8",
    timeout: timeoutMs
  }) : spawnSync(join(bin, tool), args, { encoding: "utf8", timeout: timeoutMs });
  if (command.status !== 0) {
    throw new Error(
      `${tool} failed (${command.status ?? command.signal}): ${`${command.stdout}${command.stderr}`.trim().slice(-2e3)}`
    );
  }
  return command.stdout;
}
function giveToPostgres(path) {
  if (!asRoot) return;
  const chown = spawnSync("chown", ["-R", "postgres:postgres", path]);
  if (chown.status !== 0) throw new Error(`chown postgres ${path} failed`);
}
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function startPostgres(options = {}) {
  const bin = findPostgresBin();
  if (bin === void 0) throw new Error("PostgreSQL is not installed");
  const dir = mkdtempSync(join(tmpdir(), "jack-pg-"));
  chmodSync(dir, 448);
  const data = join(dir, "data");
  const sockets = join(dir, "sockets");
  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, `${TEST_POSTGRES_PASSWORD}
`);
  spawnSync("mkdir", ["-p", sockets]);
  giveToPostgres(dir);
  run(bin, "initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    `--pwfile=${pwfile}`,
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C"
  ]);
  const tlsOptions = [];
  if (options.tls !== void 0) {
    copyFileSync(options.tls.cert, join(data, "server.crt"));
    copyFileSync(options.tls.key, join(data, "server.key"));
    chmodSync(join(data, "server.key"), 384);
    giveToPostgres(data);
    const hba = join(data, "pg_hba.conf");
    writeFileSync(hba, readFileSync(hba, "utf8").replace(/^host(\s)/gm, "hostssl$1"));
    tlsOptions.push("-c ssl=on");
  }
  const port = await freePort();
  const serverOptions = [
    `-p ${port}`,
    `-k ${sockets}`,
    "-c listen_addresses=127.0.0.1",
    // A test cluster: nothing here has to survive a crash of the machine.
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=200",
    ...tlsOptions
  ].join(" ");
  let pid = -1;
  const start = async () => {
    run(bin, "pg_ctl", [
      "start",
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-w",
      "-t",
      "60",
      "-o",
      serverOptions
    ]);
    pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    const url2 = `postgres://postgres:${TEST_POSTGRES_PASSWORD}@127.0.0.1:${port}/postgres`;
    const ssl = options.tls === void 0 ? void 0 : { rejectUnauthorized: false };
    const deadline = Date.now() + 2e4;
    for (; ; ) {
      const client = new pg.Client({ connectionString: url2, connectionTimeoutMillis: 2e3, ssl });
      client.on("error", () => {
      });
      try {
        await client.connect();
        await client.query("SELECT 1");
        await client.end();
        return;
      } catch (err) {
        await client.end().catch(() => {
        });
        if (Date.now() > deadline) throw err;
        await sleep(100);
      }
    }
  };
  const stop = async () => {
    if (pid === -1) return;
    const stopping = pid;
    pid = -1;
    try {
      process.kill(stopping, "SIGINT");
    } catch {
      return;
    }
    const deadline = Date.now() + 15e3;
    while (alive(stopping)) {
      if (Date.now() > deadline) {
        process.kill(stopping, "SIGKILL");
        await sleep(200);
        break;
      }
      await sleep(50);
    }
  };
  await start();
  return {
    port,
    url: `postgres://postgres:${TEST_POSTGRES_PASSWORD}@127.0.0.1:${port}/postgres`,
    get pid() {
      return pid;
    },
    stop,
    async restart() {
      await stop();
      await start();
    },
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
var databases = 0;
async function createDatabase(clusterUrl, prefix = "jack_test") {
  databases += 1;
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${databases}`.toLowerCase();
  const client = new pg.Client({ connectionString: clusterUrl, connectionTimeoutMillis: 5e3 });
  client.on("error", () => {
  });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url2 = new URL(clusterUrl);
  url2.pathname = `/${name}`;
  return url2.toString();
}

// test/pg-up.tmp.ts
var cluster = await startPostgres();
spawnSync2("taskset", ["-a", "-cp", "1", String(cluster.pid)]);
var url = await createDatabase(cluster.url, "prof");
console.log(url);
process.on("SIGTERM", async () => {
  await cluster.destroy();
  process.exit(0);
});
setInterval(() => {
}, 1 << 30);
