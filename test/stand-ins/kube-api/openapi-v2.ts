// /openapi/v2 as kubectl up to 1.31 reads it: gnostic's OpenAPI v2 Document in protobuf (the only encoding
// client-go asks for). It holds one PATCH operation per kind with its group-version-kind and the
// fieldValidation and dryRun parameters, so kubectl leaves validation to the server; it holds no schemas.
import type { ResourceType } from './resource-types.js';

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v & 127) | 128);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** A length-delimited field: strings and embedded messages are both encoded this way. */
function field(num: number, body: Buffer | string): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([Buffer.from([...varint((num << 3) | 2), ...varint(bytes.length)]), bytes]);
}

const message = (...fields: Buffer[]) => Buffer.concat(fields);

function queryParameter(name: string): Buffer {
  // ParametersItem.parameter(1) > Parameter.non_body_parameter(2) > query_parameter_sub_schema(3)
  const schema = message(field(2, 'query'), field(4, name), field(6, 'string'));
  return field(8, field(1, field(2, field(3, schema))));
}

function patchOperation(t: ResourceType, version: string): Buffer {
  const gvk = `- group: "${t.group}"\n  kind: ${t.kind}\n  version: ${version}\n`;
  // Operation: parameters(8), vendor_extension(13) = NamedAny{name(1), value(2) = Any{yaml(2)}}
  return message(
    queryParameter('dryRun'),
    queryParameter('fieldManager'),
    queryParameter('fieldValidation'),
    field(13, message(field(1, 'x-kubernetes-group-version-kind'), field(2, field(2, gvk)))),
  );
}

export function openApiV2Protobuf(types: ResourceType[], title: string): Buffer {
  const paths = types
    .filter((t) => !t.custom)
    .map((t) => {
      const version = t.versions[0]!;
      const gv = t.group ? `/apis/${t.group}/${version}` : `/api/${version}`;
      const path = `${gv}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}/{name}`;
      // Paths.path(2) = NamedPathItem{name(1), value(2) = PathItem{patch(8)}}
      return field(2, message(field(1, path), field(2, field(8, patchOperation(t, version)))));
    });
  return message(
    field(1, '2.0'),
    field(2, message(field(1, 'Kubernetes'), field(2, title))),
    field(8, message(...paths)),
  );
}
