// A rank that prints the launcher's variables as one JSON line.
const keys = [
  'RANK',
  'WORLD_SIZE',
  'LOCAL_RANK',
  'LOCAL_WORLD_SIZE',
  'GROUP_RANK',
  'GROUP_WORLD_SIZE',
  'ROLE_RANK',
  'MASTER_ADDR',
  'MASTER_PORT',
  'OMP_NUM_THREADS',
  'OPENBLAS_NUM_THREADS',
];
console.log(JSON.stringify({ args: process.argv.slice(2), ...Object.fromEntries(keys.map((k) => [k, process.env[k]])) }));
