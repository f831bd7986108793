// Minimal automerge-repo sync server, set up the way automerge-repo's own
// sync-server example does it: it persists every document a client sends it
// and relays changes between clients that have asked for the same document,
// but never volunteers documents to anyone.
//
// Usage: node server.mjs [port] [storage-dir]
//   or:  AMR_PORT=0 AMR_STORAGE_DIR=/path node server.mjs
// Port 0 (the default) picks a free port. Once listening, prints exactly one
// JSON line on stdout, {"port":N}, so a parent process can connect without
// racing or guessing. Everything else goes to stderr.

import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const port = Number(process.argv[2] ?? process.env.AMR_PORT ?? 0)
let storageDir = process.argv[3] ?? process.env.AMR_STORAGE_DIR
// Only a directory we made ourselves is ours to delete on exit; a directory
// handed to us belongs to the caller (the bench inspects it).
let ownsStorageDir = false
if (!storageDir) {
  storageDir = fs.mkdtempSync(path.join(os.tmpdir(), "amr-server-"))
  ownsStorageDir = true
}

const wss = new WebSocketServer({ host: "127.0.0.1", port })

const repo = new Repo({
  network: [new WebSocketServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(storageDir),
  // A fixed id makes the server recognisable in client logs and metrics.
  peerId: "server",
  // A relay must not push every document it holds to every client that
  // connects; clients get only what they ask for by id. (Access is still
  // granted to anyone who asks, which is the default.)
  sharePolicy: async () => false,
})

wss.on("listening", () => {
  process.stdout.write(JSON.stringify({ port: wss.address().port }) + "\n")
  console.error(`[server] listening on 127.0.0.1:${wss.address().port}, storage ${storageDir}`)
})

wss.on("error", err => {
  console.error("[server] websocket server error:", err)
  process.exit(1)
})

let stopping = false
async function stop(signal) {
  if (stopping) return
  stopping = true
  console.error(`[server] ${signal}: shutting down`)
  // If shutdown wedges (e.g. a stuck socket), still exit rather than leave an
  // orphan behind for the caller to hunt down.
  setTimeout(() => {
    console.error("[server] shutdown timed out, exiting anyway")
    process.exit(1)
  }, 5000).unref()
  try {
    // Stop accepting connections first so nothing new arrives mid-flush;
    // terminate existing ones because close() alone waits for clients.
    for (const client of wss.clients) client.terminate()
    await new Promise(resolve => wss.close(() => resolve()))
    // shutdown() flushes pending (debounced) saves to storage.
    await repo.shutdown()
  } catch (err) {
    console.error("[server] error during shutdown:", err)
  }
  if (ownsStorageDir) fs.rmSync(storageDir, { recursive: true, force: true })
  process.exit(0)
}

process.on("SIGTERM", () => stop("SIGTERM"))
process.on("SIGINT", () => stop("SIGINT"))
