"""ONNX export fixtures: onnx.checker's verdict on Kindling's exported files.

Runs scripts/write_onnx_samples.ts (Node) to export the samples of
test/onnx/samples.ts into a temporary folder, checks each file with
onnx.checker.check_model(full_check=True) (Debian's python3-onnx; full_check
also runs ONNX's shape inference), and records the SHA-256 of every file it
approved in test/fixtures/onnx_checked.json. The tests (test/onnx) need no
Python: they export the same samples and assert the bytes are those the
checker approved, then run them in ONNX Runtime. A file the checker refuses
stops the script with its error; nothing is written.

    /usr/bin/python3 scripts/make_onnx_fixtures.py
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "onnx_checked.json")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["node", "--import", "./test/reliability/helpers/register-ts.mjs", "scripts/write_onnx_samples.ts", tmp],
            cwd=ROOT,
            check=True,
        )
        models = {}
        for fname in sorted(os.listdir(tmp)):
            path = os.path.join(tmp, fname)
            with open(path, "rb") as f:
                data = f.read()
            model = onnx.load_from_string(data)
            onnx.checker.check_model(model, full_check=True)
            name = fname[: -len(".onnx")]
            models[name] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "ir_version": model.ir_version,
                "opset": [o.version for o in model.opset_import],
                "ops": sorted({n.op_type for n in model.graph.node}),
                "inputs": [
                    [i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]] for i in model.graph.input
                ],
                "outputs": [
                    [o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]] for o in model.graph.output
                ],
                "checker": "ok",
            }
            print(f"{name}: check_model(full_check=True) ok, {len(data)} bytes")
    with open(OUT, "w") as f:
        json.dump({"onnx_version": onnx.__version__, "models": models}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
