// Rank FAIL_RANK exits with status 3 once every other rank has written its
// pid to PID_DIR; the others would wait for a minute (on a peer, say).
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const rank = Number(process.env.RANK);
const world = Number(process.env.WORLD_SIZE);
const dir = process.env.PID_DIR;
if (rank === Number(process.env.FAIL_RANK)) {
  const poll = setInterval(() => {
    if (readdirSync(dir).length === world - 1) {
      clearInterval(poll);
      console.error(`rank ${rank}: failing on purpose`);
      process.exit(3);
    }
  }, 20);
} else {
  writeFileSync(join(dir, String(rank)), String(process.pid));
  setTimeout(() => process.exit(0), 60_000);
}
