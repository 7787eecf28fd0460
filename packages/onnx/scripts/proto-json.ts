/**
 * Regenerates src/onnx-proto.json (protobufjs reflection JSON) from proto/onnx.proto, the
 * official ONNX schema (ONNX 1.12.0, IR version 8, as shipped in Debian's python3-onnx). The
 * package loads the JSON with protobufjs/light, so no .proto parsing happens at run time.
 *
 *   pnpm --filter @anomalia/onnx proto
 */
import { readFileSync, writeFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const proto = readFileSync(new URL('../proto/onnx.proto', import.meta.url), 'utf8');
// keepCase: the field names stay those of the ONNX specification (ir_version, opset_import...).
const { root } = protobuf.parse(proto, { keepCase: true });
writeFileSync(
  new URL('../src/onnx-proto.json', import.meta.url),
  `${JSON.stringify(root.toJSON(), null, 1)}\n`,
);
