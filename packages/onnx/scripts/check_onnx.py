#!/usr/bin/python3
"""Runs the official ONNX checker (with shape inference) on model files, e.g. on exports:
  /usr/bin/python3 scripts/check_onnx.py model.onnx [more.onnx ...]
Prints one JSON line per file; exits non-zero if any fails. Needs Debian's python3-onnx."""
import json
import sys

import onnx


def main(paths):
    failed = 0
    for path in paths:
        try:
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            print(json.dumps({"file": path, "ok": True, "ir_version": model.ir_version,
                              "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")],
                              "outputs": [o.name for o in model.graph.output],
                              "metadata_keys": [p.key for p in model.metadata_props]}))
        except Exception as e:  # noqa: BLE001 - report any checker failure per file
            failed += 1
            print(json.dumps({"file": path, "ok": False, "error": str(e).splitlines()[0]}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
