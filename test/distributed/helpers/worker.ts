// One rank of a test/distributed job: runs the scenario named by argv[2]
// and prints one JSON line of results (the parent compares them).
import * as torch from '../../../lib/index.js';

const dist = torch.distributed;
const scenario = process.argv[2];
// The launcher's rank (RANK, OMPI_COMM_WORLD_RANK or SLURM_PROCID: helpers/job.ts).
const rank = Number(process.env.RANK || process.env.OMPI_COMM_WORLD_RANK || process.env.SLURM_PROCID);
const world = Number(process.env.WORLD_SIZE || process.env.OMPI_COMM_WORLD_SIZE || process.env.SLURM_NTASKS);
const timeout = Number(process.env.TEST_TIMEOUT ?? 20000);

const out: Record<string, unknown> = { rank };
const list = (t: torch.Tensor): unknown => t.tolist();

async function main(): Promise<void> {
  if (scenario === 'collectives') {
    dist.initProcessGroup({ backend: 'gloo', timeout });
    out.rank = dist.getRank();
    out.world = dist.getWorldSize();
    out.initialized = dist.isInitialized();
    for (const dtype of ['float32', 'float64', 'int64'] as const) {
      for (const op of ['sum', 'product', 'max', 'min', 'avg'] as const) {
        if (op === 'avg' && dtype === 'int64') continue;
        const t = torch.tensor([rank + 1, -(rank + 1) * 2, rank % 2 === 0 ? 5 : -5], { dtype });
        dist.allReduce(t, { op });
        out[`allReduce_${op}_${dtype}`] = list(t);
      }
    }
    const b = torch.tensor([rank, rank * 10], { dtype: 'float64' });
    dist.broadcast(b, { src: world - 1 });
    out.broadcast = list(b);
    const gl = Array.from({ length: world }, () => torch.zeros([2], { dtype: 'int64' }));
    dist.allGather(gl, torch.tensor([rank, rank * rank], { dtype: 'int64' }));
    out.allGather = gl.map(list);
    const rs = torch.zeros([2]);
    dist.reduceScatter(
      rs,
      Array.from({ length: world }, (_, i) => torch.tensor([rank * 100 + i, i], { dtype: 'float32' })),
      { op: dist.ReduceOp.SUM },
    );
    out.reduceScatter = list(rs);
    const gatherList = rank === 1 ? Array.from({ length: world }, () => torch.zeros([3])) : undefined;
    dist.gather(torch.tensor([rank, rank + 0.5, -rank], { dtype: 'float32' }), { gatherList, dst: 1 });
    if (gatherList) out.gather = gatherList.map(list);
    const sc = torch.zeros([2], { dtype: 'float64' });
    const scatterList = rank === 0 ? Array.from({ length: world }, (_, i) => torch.tensor([i, i * 3], { dtype: 'float64' })) : undefined;
    dist.scatter(sc, { scatterList, src: 0 });
    out.scatter = list(sc);
    // A view inside a bigger storage: only its elements take part.
    const big = torch.full([6], rank + 1);
    const mid = big.narrow(0, 2, 2);
    dist.allReduce(mid);
    out.viewAllReduce = list(big);
    // Asynchronous: a Work to wait for, and one to await while JS runs.
    const w = dist.allReduce(torch.ones([1000]).mul(rank), { asyncOp: true });
    out.workIsWork = w instanceof dist.Work;
    w.wait();
    out.workCompleted = w.isCompleted();
    const big2 = torch.full([100000], rank + 1);
    const w2 = dist.allReduce(big2, { asyncOp: true });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    await w2;
    clearInterval(timer);
    out.awaited = big2.sum().item();
    const w3 = dist.barrier({ asyncOp: true });
    await w3.promise();
    out.barrier = true;
    // Groups: the even ranks.
    const evens = Array.from({ length: world }, (_, i) => i).filter((i) => i % 2 === 0);
    const g = dist.newGroup(evens);
    out.groupRank = dist.getRank(g);
    if (evens.includes(rank)) {
      const t = torch.tensor([rank + 1], { dtype: 'float32' });
      dist.allReduce(t, { group: g });
      out.groupAllReduce = list(t);
      const bt = torch.tensor([rank], { dtype: 'float32' });
      dist.broadcast(bt, { src: evens[evens.length - 1], group: g });
      out.groupBroadcast = list(bt);
    } else {
      try {
        dist.allReduce(torch.ones([1]), { group: g });
      } catch (e) {
        out.nonMemberError = (e as Error).message;
      }
    }
    dist.barrier();
    dist.destroyProcessGroup();
    out.initializedAfter = dist.isInitialized();
  } else if (scenario === 'env-ranks') {
    // Rank and size from the launcher's variables only.
    dist.initProcessGroup({ timeout });
    const t = torch.tensor([dist.getRank() + 1], { dtype: 'float64' });
    dist.allReduce(t, { op: dist.ReduceOp.MAX });
    Object.assign(out, { got: [dist.getRank(), dist.getWorldSize(), dist.getLocalRank()], max: t.item() });
    dist.destroyProcessGroup();
  } else if (scenario === 'store') {
    // TCPStore on its own: rank 0 hosts it.
    const store = new dist.TCPStore('127.0.0.1', Number(process.env.MASTER_PORT), { isMaster: rank === 0, timeout });
    store.set(`key${rank}`, `value of ${rank}`);
    out.count = store.add('counter', rank + 1);
    store.wait(Array.from({ length: world }, (_, r) => `key${r}`));
    out.values = Array.from({ length: world }, (_, r) => new TextDecoder().decode(store.get(`key${r}`)));
    try {
      store.get('never-set');
    } catch (e) {
      out.missing = (e as Error).message;
    }
    // Rank 0 keeps the server up until everyone has read.
    store.add('done', 1);
    if (rank === 0)
      while (!store.check(['done']) || Number(new TextDecoder().decode(store.get('done'))) < world)
        await new Promise((r) => setTimeout(r, 10));
    store.close();
  } else if (scenario === 'no-addon') {
    // KINDLING_DIST_ADDON names a module that is not there.
    out.available = dist.isAvailable();
    try {
      dist.initProcessGroup({ rank: 0, worldSize: 1 });
    } catch (e) {
      out.error = (e as Error).message;
    }
  } else if (scenario === 'file' || scenario === 'file-no-destroy') {
    try {
      dist.initProcessGroup({ initMethod: `file://${process.env.TEST_FILE}`, rank, worldSize: world, timeout });
    } catch (e) {
      out.error = (e as Error).message;
      return;
    }
    const t = torch.tensor([rank + 1], { dtype: 'float64' });
    dist.allReduce(t);
    out.allReduce = list(t);
    // 'file-no-destroy' ends as a crashed job would: its keys stay in the directory.
    if (scenario === 'file') dist.destroyProcessGroup();
  } else if (scenario === 'wait-forever') {
    // Joins a job whose other ranks never come.
    try {
      dist.initProcessGroup({ timeout });
    } catch (e) {
      out.error = (e as Error).message;
    }
  } else if (scenario === 'peer-dies') {
    dist.initProcessGroup({ timeout });
    dist.barrier();
    if (rank === 1) process.exit(3);
    const start = Date.now();
    try {
      // Rank 1 is gone: the collective must fail, not hang.
      for (let i = 0; i < 100; i++) dist.allReduce(torch.ones([10]));
    } catch (e) {
      out.error = (e as Error).message;
    }
    out.elapsed = Date.now() - start;
    try {
      dist.allReduce(torch.ones([10]));
    } catch (e) {
      out.after = (e as Error).message;
    }
  } else if (scenario === 'peer-silent') {
    // Rank 1 stays alive but never joins the collective: Gloo's timeout.
    dist.initProcessGroup({ timeout });
    if (rank === 0) {
      const w = dist.allReduce(torch.ones([4]), { asyncOp: true });
      try {
        await w;
      } catch (e) {
        out.error = (e as Error).message;
      }
    } else {
      await new Promise((r) => setTimeout(r, timeout * 3));
    }
  } else if (scenario === 'bad-input') {
    dist.initProcessGroup({ timeout });
    const errors: string[] = [];
    const attempt = (f: () => unknown): void => {
      try {
        f();
        errors.push('no error');
      } catch (e) {
        errors.push((e as Error).message);
      }
    };
    attempt(() => dist.allReduce(torch.ones([2], { dtype: 'int32' })));
    attempt(() => dist.allReduce(torch.ones([2, 3]).t()));
    attempt(() => dist.allReduce(torch.ones([2]), { op: 'mean' as never }));
    attempt(() => dist.allReduce(torch.ones([2], { dtype: 'int64' }), { op: dist.ReduceOp.AVG }));
    attempt(() => dist.allReduce(torch.ones([2]), { async_op: true } as never));
    attempt(() => dist.broadcast(torch.ones([2]), { src: world }));
    attempt(() => dist.allGather([torch.ones([2])], torch.ones([2])));
    attempt(() => dist.initProcessGroup({ timeout }));
    out.errors = errors;
    dist.barrier();
    dist.destroyProcessGroup();
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
}

main().then(
  () => {
    console.log(JSON.stringify(out));
    process.exit(0);
  },
  (e: unknown) => {
    console.log(JSON.stringify({ rank, fatal: e instanceof Error ? e.stack : String(e) }));
    process.exit(1);
  },
);
