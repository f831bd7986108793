// Reference benchmark: automerge-repo 2.5.x sync server on this machine, so
// that `make bench` can print its figures beside Weft's relay benchmark.
//
// Usage: node bench.mjs
// Env overrides (defaults in brackets):
//   AMR_EDITS [300]           edits in edit_latency, one every 60 ms
//   AMR_DOCS [2000]           documents in pull_10k. Capped below the 10k
//                             the name promises: on this 2-core machine,
//                             seeding 10k through the server took ~12 min
//                             (cost per document grows with the number of
//                             documents already held, in client and server
//                             alike; NodeFSStorageAdapter's loadRange scans
//                             its whole never-evicted key cache on every
//                             call), and the 10k pull then failed with
//                             "Document ... is unavailable" after ~90 s.
//                             AMR_DOCS=10000 still works as an override.
//   AMR_TYPING_SECONDS [60]   duration of the typing workload
//   AMR_PULL_COLD [0]         1 = restart the server between seeding and the
//                             pull, so it must serve the documents from disk
//                             rather than from its in-memory handle cache
//   AMR_SEED_BATCH [500]      documents created per batch while seeding
//   AMR_PULL_CONCURRENCY [100] find() calls in flight during the pull
//
// Output contract: stdout carries exactly one JSON object per workload, one
// per line, and nothing else, because `make bench` parses it. Progress and
// diagnostics go to stderr (the child server's stderr is passed through).
//
// The server runs as a separate child process so its CPU time can be read
// from /proc on its own. All client Repos, on the other hand, live in this one
// process and share its event loop: a receiving client can be delayed by a
// sending client's work. Weft's relay bench is built the same way, so the two
// are comparable, but absolute latencies include that contention.
//
// Everything runs with automerge-repo's default configuration on purpose
// (this is a reference point, not a tuned competitor). Notably DocSynchronizer
// throttles outgoing sync messages per document to one per 100 ms
// (syncDebounceRate), on the client and again on the server, which puts a
// floor under the latencies below.

import { spawn, execFileSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { splice } from "@automerge/automerge"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const here = path.dirname(fileURLToPath(import.meta.url))

const EDITS = intEnv("AMR_EDITS", 300)
const DOCS = intEnv("AMR_DOCS", 2000)
const TYPING_SECONDS = Number(process.env.AMR_TYPING_SECONDS ?? 60)
const PULL_COLD = process.env.AMR_PULL_COLD === "1"
const SEED_BATCH = intEnv("AMR_SEED_BATCH", 500)
const PULL_CONCURRENCY = intEnv("AMR_PULL_CONCURRENCY", 100)
const EDIT_INTERVAL_MS = 60
const TYPING_PEERS = 8
const KEYS_PER_SECOND = 6

function intEnv(name, dflt) {
  const v = process.env[name]
  if (v === undefined || v === "") return dflt
  const n = Number.parseInt(v, 10)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`)
  return n
}

const log = (...args) => console.error("[bench]", ...args)
const sleep = ms => new Promise(resolve => setTimeout(resolve, Math.max(0, ms)))
const emit = obj => process.stdout.write(JSON.stringify(obj) + "\n")
const round = (x, digits = 2) => Number(x.toFixed(digits))

function percentile(sorted, p) {
  // Nearest-rank: always a value that was actually observed.
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b)
  return { p50: percentile(s, 50), p95: percentile(s, 95), max: s[s.length - 1] }
}

async function waitFor(what, predicate, timeoutMs, pollMs = 20) {
  const deadline = performance.now() + timeoutMs
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(pollMs)
  }
}

// ---------------------------------------------------------------- server --

let CLK_TCK = 100
try {
  CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
} catch {
  // getconf missing: 100 is the Linux USER_HZ on every mainstream arch.
}

// utime + stime of a process, in seconds.
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // The command name (field 2) is in parentheses and may contain spaces, so
  // split only what follows the last ')'. Fields after it start at field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const utime = Number(fields[14 - 3])
  const stime = Number(fields[15 - 3])
  return (utime + stime) / CLK_TCK
}

const servers = new Set()

async function startServer(storageDir) {
  // Spawn node directly (not through npm or a shell) so child.pid is the
  // server process itself and /proc/<pid>/stat measures the right thing.
  const child = spawn(process.execPath, [path.join(here, "server.mjs"), "0", storageDir], {
    stdio: ["ignore", "pipe", "inherit"],
  })
  servers.add(child)
  child.on("exit", (code, signal) => {
    servers.delete(child)
    // A server that dies mid-run would otherwise leave the bench polling
    // for acknowledgements until some long timeout; fail at once instead.
    if (!child.expectedExit) {
      console.error(`[bench] FAILED: server pid ${child.pid} died unexpectedly (code ${code}, signal ${signal})`)
      process.exit(1)
    }
  })
  const port = await new Promise((resolve, reject) => {
    let buf = ""
    const onData = chunk => {
      buf += chunk
      const nl = buf.indexOf("\n")
      if (nl < 0) return
      child.stdout.off("data", onData)
      try {
        resolve(JSON.parse(buf.slice(0, nl)).port)
      } catch (e) {
        reject(new Error(`unexpected server output: ${buf}`))
      }
    }
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", onData)
    child.once("exit", code => reject(new Error(`server exited early (code ${code})`)))
  })
  // Keep draining the pipe so a chatty server can never block on a full pipe.
  child.stdout.resume()
  return { child, pid: child.pid, url: `ws://127.0.0.1:${port}` }
}

async function stopServer(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  const exited = new Promise(resolve => server.child.once("exit", resolve))
  server.child.expectedExit = true
  server.child.kill("SIGTERM")
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 10000)
  await exited
  clearTimeout(timer)
}

// Last-resort cleanup so no server or temp dir outlives the bench, whatever
// path it exits by (including process.exit() from a failure handler, which
// skips finally blocks).
const tempDirs = new Set()
function cleanup() {
  for (const child of servers) {
    child.expectedExit = true
    try {
      child.kill("SIGKILL")
    } catch {}
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true })
}
process.on("exit", cleanup)
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => process.exit(130))
}

// --------------------------------------------------------------- clients --

// A client Repo with no storage: every device in these workloads starts
// empty, so whatever it ends up with must have come from the server.
const adapters = new WeakMap()
async function connectClient(url, peerId) {
  const adapter = new WebSocketClientAdapter(url)
  const repo = new Repo({ network: [adapter], peerId })
  adapters.set(repo, adapter)
  // A dropped connection (e.g. the server's 5 s keep-alive giving up on a
  // client whose event loop was too busy to answer a ping) silently skews
  // the latencies, so make it visible.
  repo.networkSubsystem.on("peer-disconnected", ({ peerId: p }) => {
    if (!adapter.shuttingDown) log(`warning: ${peerId} lost its connection to ${p}; it will reconnect`)
  })
  // Until the server peer is known, find() would have nobody to ask and a
  // created doc nobody to announce to; wait for the handshake explicitly.
  await waitFor(`${peerId} to connect`, () => repo.peers.includes("server"), 10000, 5)
  return repo
}

async function shutdownClient(repo) {
  const adapter = adapters.get(repo)
  adapter.shuttingDown = true
  // Workaround: WebSocketClientAdapter.disconnect() removes its own error
  // listener and then close()s the socket; if a reconnect attempt is still
  // CONNECTING, ws emits "closed before the connection was established" as
  // an 'error' with no listener, which crashed the whole bench once. Catch it.
  adapter.socket?.on?.("error", () => {})
  await repo.shutdown()
}

const headsKey = heads => [...heads].sort().join(",")

// True once the server has told this client that it holds exactly the
// client's current heads of the document. The client learns that from the
// server's sync replies (automerge-repo records them per remote *storage id*
// as "sync info"), so this is evidence from the server itself, not a guess
// based on elapsed time.
function serverHasHeads(repo, handle) {
  const storageId = repo.getStorageIdOfPeer("server")
  if (!storageId) return false
  const info = handle.getSyncInfo(storageId)
  return !!info && headsKey(info.lastHeads) === headsKey(handle.heads())
}

async function waitServerHas(repo, handles, timeoutMs) {
  let pending = handles
  const deadline = performance.now() + timeoutMs
  while (pending.length > 0) {
    pending = pending.filter(h => !serverHasHeads(repo, h))
    if (pending.length === 0) break
    if (performance.now() > deadline)
      throw new Error(`server did not acknowledge ${pending.length} of ${handles.length} documents in ${timeoutMs} ms`)
    await sleep(50)
  }
}

// NodeFSStorageAdapter keeps a document's chunks under
// <dir>/<id[0..2]>/<id[2..]>/{snapshot,incremental}/. A document counts as
// persisted once at least one chunk file exists there.
function docPersisted(storageDir, documentId) {
  const docDir = path.join(storageDir, documentId.slice(0, 2), documentId.slice(2))
  for (const kind of ["snapshot", "incremental"]) {
    try {
      if (fs.readdirSync(path.join(docDir, kind)).length > 0) return true
    } catch {}
  }
  return false
}

// ------------------------------------------------------------- workloads --

async function editLatency(server) {
  const a = await connectClient(server.url, "edit-a")
  const b = await connectClient(server.url, "edit-b")
  try {
    const ha = a.create({ n: -1 })
    // B can only find the doc once the server has it; otherwise the server
    // would answer "unavailable" and find() would reject.
    await waitServerHas(a, [ha], 10000)
    const hb = await b.find(ha.url)

    const sentAt = new Array(EDITS)
    const latencies = []
    let seen = -1
    let coalesced = 0
    hb.on("change", () => {
      const now = performance.now()
      const n = hb.doc().n
      if (n > seen + 1) coalesced += n - seen - 1
      // If one sync message carried several edits, the earlier values of n
      // were never visible on their own; count them as arriving now (their
      // true latency is at least that), so slow delivery is not hidden by
      // being silently dropped from the sample.
      while (seen < n) {
        seen++
        if (seen >= 0) latencies.push(now - sentAt[seen])
      }
    })

    log(`edit_latency: ${EDITS} edits, one every ${EDIT_INTERVAL_MS} ms`)
    const start = performance.now()
    for (let i = 0; i < EDITS; i++) {
      // Absolute schedule so per-iteration overhead does not stretch the run.
      await sleep(start + i * EDIT_INTERVAL_MS - performance.now())
      sentAt[i] = performance.now()
      ha.change(d => {
        d.n = i
      })
    }
    await waitFor("B to see the last edit", () => seen === EDITS - 1, 15000)
    if (coalesced) log(`edit_latency: ${coalesced} edits arrived coalesced with a later one`)
    const s = summarize(latencies)
    emit({
      workload: "edit_latency",
      p50_ms: round(s.p50),
      p95_ms: round(s.p95),
      max_ms: round(s.max),
      samples: latencies.length,
    })
  } finally {
    await shutdownClient(a)
    await shutdownClient(b)
  }
}

async function pull(server, storageDir) {
  // --- seed: not timed; only has to leave the server holding M docs.
  const seeder = await connectClient(server.url, "seeder")
  const urls = []
  const seedStart = performance.now()
  try {
    const handles = []
    log(`pull_10k: seeding ${DOCS} documents in batches of ${SEED_BATCH}`)
    // Back-pressure: creating all 10k at once makes the server queue 10k
    // announcements; each of its DocHandles then waits longer than
    // automerge-repo's fixed 60 s ready-timeout, and the resulting unhandled
    // TimeoutError kills the server process (seen on this machine). Waiting
    // for each batch to be acknowledged keeps the queue short.
    for (let start = 0; start < DOCS; start += SEED_BATCH) {
      const batch = []
      for (let i = start; i < Math.min(DOCS, start + SEED_BATCH); i++) {
        const h = seeder.create({ title: `doc ${i}`, done: false, n: i })
        batch.push(h)
        handles.push(h)
        urls.push(h.url)
      }
      // How we know the server holds them: (1) the server's own sync replies
      // report our heads for every document (it has applied them), and (2),
      // below, every document has a chunk file in the server's storage
      // directory (it has persisted them, so a restarted server could serve
      // them too).
      await waitServerHas(seeder, batch, 120000)
      if (handles.length % 2000 === 0) log(`pull_10k: ${handles.length} seeded after ${round((performance.now() - seedStart) / 1000)} s`)
    }
    log(`pull_10k: server acknowledged all ${DOCS} after ${round((performance.now() - seedStart) / 1000)} s`)
    await waitFor(
      "server to persist all documents",
      () => handles.every(h => docPersisted(storageDir, h.documentId)),
      120000,
      250,
    )
    log(`pull_10k: all ${DOCS} on server disk after ${round((performance.now() - seedStart) / 1000)} s`)
  } finally {
    // Disconnect the seeder before the pull so the only source of the
    // documents is the server.
    await shutdownClient(seeder)
  }

  if (PULL_COLD) {
    log("pull_10k: restarting server so it serves from disk")
    await stopServer(server)
    Object.assign(server, await startServer(storageDir))
  }

  // --- pull: timed from creating the fresh device's Repo (connection set-up
  // is part of what a new device pays) to all documents ready and correct.
  log(`pull_10k: fresh client finding ${DOCS} documents`)
  const t0 = performance.now()
  const fresh = await connectClient(server.url, "fresh")
  try {
    // A bounded pool rather than all 10k find()s at once, for the same
    // reason as the seeding batches: each pending handle has a fixed 60 s
    // ready-timeout, so if the whole pull takes longer than that, requesting
    // everything up front makes the tail of it fail. A real client syncing an
    // index would pace its requests the same way. 100, not more: with 1000
    // in flight, a 2000-doc pull failed twice out of two on this machine,
    // some find() rejecting "Document ... is unavailable" within ~15 s even
    // though the server held every document; with 100 it completed.
    const handles = new Array(urls.length)
    let next = 0
    let done = 0
    const worker = async () => {
      while (next < urls.length) {
        const i = next++
        handles[i] = await fresh.find(urls[i])
        if (++done % 2000 === 0) log(`pull_10k: ${done}/${urls.length} after ${round((performance.now() - t0) / 1000)} s`)
      }
    }
    await Promise.all(Array.from({ length: Math.min(PULL_CONCURRENCY, urls.length) }, worker))
    handles.forEach((h, i) => {
      const d = h.doc()
      if (d.n !== i || d.title !== `doc ${i}` || d.done !== false)
        throw new Error(`doc ${i} has wrong content: ${JSON.stringify(d)}`)
    })
    const seconds = (performance.now() - t0) / 1000
    emit({ workload: "pull_10k", docs: DOCS, seconds: round(seconds, 3), docs_per_s: round(DOCS / seconds, 1) })
  } finally {
    await shutdownClient(fresh)
  }
}

async function typing(server) {
  const repos = []
  try {
    for (let p = 0; p < TYPING_PEERS; p++) repos.push(await connectClient(server.url, `typist-${p}`))
    // Pre-create every peer's clock entry so a keystroke only sets two
    // scalars, instead of each change also creating a fresh nested map.
    const clock = {}
    for (let p = 0; p < TYPING_PEERS; p++) clock[p] = { seq: 0, t: 0 }
    const h0 = repos[0].create({ text: "", clock })
    await waitServerHas(repos[0], [h0], 10000)
    const handles = [h0]
    for (let p = 1; p < TYPING_PEERS; p++) handles.push(await repos[p].find(h0.url))

    // sentAt[author][seq]: this process is every author, so it can keep the
    // exact send time of every keystroke. The doc carries {seq, t} of each
    // author's latest keystroke; when a sync message carries several of an
    // author's keystrokes at once, only the last one's t is in the doc, and
    // this table supplies the earlier ones. Same clock (performance.now in
    // one process) either way.
    const sentAt = Array.from({ length: TYPING_PEERS }, () => [])
    const lastSeen = Array.from({ length: TYPING_PEERS }, () => new Array(TYPING_PEERS).fill(0))
    const latencies = []
    let measuring = true
    handles.forEach((h, me) => {
      h.on("change", () => {
        if (!measuring) return
        const now = performance.now()
        const c = h.doc().clock
        for (let author = 0; author < TYPING_PEERS; author++) {
          if (author === me) continue
          const { seq, t } = c[author]
          while (lastSeen[me][author] < seq) {
            const s = ++lastSeen[me][author]
            latencies.push(now - (s === seq ? t : sentAt[author][s]))
          }
        }
      })
    })

    const intervalMs = 1000 / KEYS_PER_SECOND
    const durationMs = TYPING_SECONDS * 1000
    const sent = new Array(TYPING_PEERS).fill(0)
    log(`typing: ${TYPING_PEERS} peers x ${KEYS_PER_SECOND} keys/s for ${TYPING_SECONDS} s`)

    const cpu0 = cpuSeconds(server.pid)
    const start = performance.now()
    const typists = handles.map(async (h, me) => {
      // Random phase so the 8 typists do not fire in lockstep, which would
      // make every burst collide in the same event-loop turn.
      const phase = Math.random() * intervalMs
      for (let k = 0; ; k++) {
        const due = start + phase + k * intervalMs
        if (due - start >= durationMs) break
        await sleep(due - performance.now())
        const seq = k + 1
        const ch = String.fromCharCode(97 + ((me + k) % 26))
        const t = performance.now()
        sentAt[me][seq] = t
        h.change(d => {
          // Each typist appends at the end of the text (its "cursor").
          splice(d, ["text"], d.text.length, 0, ch)
          d.clock[me].seq = seq
          d.clock[me].t = t
        })
        sent[me] = seq
      }
    })
    await Promise.all(typists)
    // Include the tail: keystrokes sent near the end still cost the server
    // work, and their latencies are part of the sample.
    try {
      await waitFor(
        "every peer to see every keystroke",
        () => lastSeen.every((row, me) => row.every((s, author) => author === me || s === sent[author])),
        30000,
      )
    } catch (err) {
      // Say how far behind each receiver is: a uniform small backlog means
      // "too slow", a large one on some pairs means sync stalled.
      const behind = lastSeen.map((row, me) => row.map((s, author) => (author === me ? 0 : sent[author] - s)))
      log(`typing: keystrokes not yet seen, [receiver][author]: ${JSON.stringify(behind)}`)
      throw err
    }
    const wall = (performance.now() - start) / 1000
    const cpu = cpuSeconds(server.pid) - cpu0
    measuring = false

    const total = sent.reduce((a, b) => a + b, 0)
    const texts = handles.map(h => h.doc().text)
    if (!texts.every(t => t === texts[0]) || texts[0].length !== total)
      throw new Error(`typing: peers did not converge (lengths ${texts.map(t => t.length)}, expected ${total})`)
    log(`typing: ${total} keystrokes, ${latencies.length} deliveries, server cpu ${round(cpu, 3)} s over ${round(wall)} s`)

    const s = summarize(latencies)
    emit({
      workload: "typing",
      peers: TYPING_PEERS,
      seconds: TYPING_SECONDS,
      p50_ms: round(s.p50),
      p95_ms: round(s.p95),
      server_cpu_percent_of_one_core: round((100 * cpu) / wall, 1),
    })
  } finally {
    for (const r of repos) await shutdownClient(r)
  }
}

// ------------------------------------------------------------------ main --

async function main() {
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), "amr-bench-"))
  tempDirs.add(storageDir)
  let server
  const benchStart = performance.now()
  try {
    server = await startServer(storageDir)
    log(`server pid ${server.pid} at ${server.url}, storage ${storageDir}, CLK_TCK ${CLK_TCK}`)
    await editLatency(server)
    await pull(server, storageDir)
    await typing(server)
  } finally {
    if (server) await stopServer(server)
    fs.rmSync(storageDir, { recursive: true, force: true })
    log(`done in ${round((performance.now() - benchStart) / 1000, 1)} s`)
  }
}

main().then(
  // Exit explicitly: a lingering reconnect timer or socket in a shut-down
  // client must not keep the bench (and thus `make bench`) hanging.
  () => process.exit(0),
  err => {
    console.error("[bench] FAILED:", err)
    process.exit(1)
  },
)
