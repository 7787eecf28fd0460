/**
 * Regenerates src/onnx-proto.json (protobufjs reflection JSON) from proto/onnx.proto, the
 * official ONNX schema (ONNX 1.12.0, IR version 8, as shipped in Debian's python3-onnx). The
 * package loads the JSON with protobufjs/light, so no .proto parsing happens at run time.
 *
 *   pnpm --filter @anomalia/onnx proto
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const proto = readFileSync(new URL('../proto/onnx.proto', import.meta.url), 'utf8');
// keepCase: the field names stay those of the ONNX specification (ir_version, opset_import...).
const { root } = protobuf.parse(proto, { keepCase: true });
const out = fileURLToPath(new URL('../src/onnx-proto.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(root.toJSON(), null, 2)}\n`);
// In the repository's JSON style, so regenerating leaves no diff.
execFileSync('pnpm', ['exec', 'biome', 'format', '--write', out], { stdio: 'inherit' });
