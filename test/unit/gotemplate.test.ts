import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderTemplate, renderTemplatesInDir } from '../../src/image/template/index.js';
import { InputError } from '../../src/util/errors.js';

// Expected outputs below are what Go's text/template (with sprig and missingkey=default) produces; the
// comments explain the Go rule each one depends on.

const containerdTmpl = `version = 2
root = "{{ .criData }}"
state = "/run/containerd"
{{- if .criData }}
# data dir set
{{- end }}

[grpc]
  address = "{{ .SEALOS_SYS_CRI_ENDPOINT | default "unix:///run/containerd/containerd.sock" }}"

[plugins."io.containerd.grpc.v1.cri".registry.mirrors."{{ .registryDomain }}:{{ .registryPort }}"]
  endpoint = ["http://{{ .registryDomain }}:{{ .registryPort }}"]
{{ if .sandboxImage }}sandbox_image = "{{ .registryDomain }}:{{ .registryPort }}/{{ .sandboxImage }}"{{ end }}
disabled = {{ .notSet }}
`;

test('containerd config: fields, if, default on a missing key, <no value>', () => {
  const data = { criData: '/var/lib/containerd', registryDomain: 'sealos.hub', registryPort: '5000' };
  // `{{-` eats the newline before it; an if whose condition is a missing key is false; a missing key piped
  // into default gives the default; a missing key printed directly is Go's "<no value>".
  assert.equal(
    renderTemplate(containerdTmpl, data, 'config.toml.tmpl'),
    `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
# data dir set

[grpc]
  address = "unix:///run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri".registry.mirrors."sealos.hub:5000"]
  endpoint = ["http://sealos.hub:5000"]

disabled = <no value>
`,
  );
  const withAll = {
    ...data,
    criData: '',
    SEALOS_SYS_CRI_ENDPOINT: '/run/k3s/containerd/containerd.sock',
    sandboxImage: 'pause:3.9',
    notSet: 'true',
  };
  // An empty string is false; the whole `{{- if }}...{{- end }}` collapses to nothing.
  assert.equal(
    renderTemplate(containerdTmpl, withAll, 'config.toml.tmpl'),
    `version = 2
root = ""
state = "/run/containerd"

[grpc]
  address = "/run/k3s/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri".registry.mirrors."sealos.hub:5000"]
  endpoint = ["http://sealos.hub:5000"]
sandbox_image = "sealos.hub:5000/pause:3.9"
disabled = true
`,
  );
});

const k3sTmpl = `{{- /* k3s server config */ -}}
cluster-cidr: {{ .podCidr | default "10.42.0.0/16" }}
tls-san:
{{- range $i, $san := splitList "," .sans }}
  - {{ $san | trim | quote }}
{{- end }}
{{- with .dataDir }}
data-dir: {{ . }}
{{- end }}
node-label:
{{- range $k, $v := split ";" .labels }}
  - "{{ $k }}={{ $v }}"
{{- end }}
{{- range .noSuchList }}
never
{{- else }}
# no extra args
{{- end }}
`;

test('k3s config: range over lists and maps, with, trim markers, range else', () => {
  const out = renderTemplate(
    k3sTmpl,
    { sans: 'apiserver.cluster.local, 10.0.0.2', dataDir: '/var/lib/rancher/k3s', labels: 'b=x;a' },
    'k3s.yml.tmpl',
  );
  // split returns a map with keys _0, _1 ...; range visits map keys in sorted order.
  assert.equal(
    out,
    `cluster-cidr: 10.42.0.0/16
tls-san:
  - "apiserver.cluster.local"
  - "10.0.0.2"
data-dir: /var/lib/rancher/k3s
node-label:
  - "_0=b=x"
  - "_1=a"
# no extra args
`,
  );
  // with on a missing key skips its body.
  assert.doesNotMatch(renderTemplate(k3sTmpl, { sans: 'a', labels: '' }, 'k3s.yml.tmpl'), /data-dir/);
});

test('image-cri-shim style version switch with and/ne/semverCompare', () => {
  const tmpl =
    '{{ if and (ne .SEALOS_SYS_KUBE_VERSION "") (semverCompare "^1.26.0" .SEALOS_SYS_KUBE_VERSION) }}version: v1{{ else }}version: v1alpha2{{ end }}';
  assert.equal(renderTemplate(tmpl, { SEALOS_SYS_KUBE_VERSION: 'v1.27.7' }, 's'), 'version: v1');
  assert.equal(renderTemplate(tmpl, { SEALOS_SYS_KUBE_VERSION: 'v1.25.16' }, 's'), 'version: v1alpha2');
  assert.equal(renderTemplate(tmpl, { SEALOS_SYS_KUBE_VERSION: '' }, 's'), 'version: v1alpha2');
  // Go: ne(<missing>, "") is true, so semverCompare runs and rejects the missing value for its string parameter.
  assert.throws(
    () => renderTemplate(tmpl, {}, 'shim.yaml.tmpl'),
    (e: unknown) =>
      e instanceof InputError && e.message === 'shim.yaml.tmpl:1: invalid value; expected string',
  );
  const cmp = (c: string, v: string) => renderTemplate(`{{ semverCompare "${c}" "${v}" }}`, {}, 's');
  assert.equal(cmp('>=1.26', 'v1.26.0'), 'true');
  assert.equal(cmp('~1.27.1', 'v1.27.9'), 'true');
  assert.equal(cmp('~1.27.1', 'v1.28.0'), 'false');
  assert.equal(cmp('1.27.x', 'v1.27.3+k3s1'), 'true');
  assert.equal(cmp('>=1.20 <1.25 || >=1.28', 'v1.29.1'), 'true');
  assert.equal(cmp('>=1.20, <1.25', 'v1.26.1'), 'false');
  assert.equal(cmp('^1.26.0', 'v1.27.0-rc.1'), 'false');
  assert.equal(cmp('^1.26.0', 'not-a-version'), 'false');
});

test('Go semantics of values, pipelines, variables and builtins', () => {
  const d = { a: 'x', n: '', list: 'a,b,c', port: '5000' };
  const r = (t: string) => renderTemplate(t, d, 't');
  assert.equal(r('{{ .missing }}|{{ .missing.deeper }}|{{ .n }}|'), '<no value>|<no value>||');
  assert.equal(
    r('{{ .n | default "d" }} {{ default "d" .a }} {{ .missing | quote }}|{{ .n | quote }}'),
    'd x |""',
  );
  assert.equal(r('{{ $x := "1" }}{{ $x = print $x "2" }}{{ $x }}'), '12');
  assert.equal(r('{{ range $i, $v := splitList "," .list }}{{ $i }}{{ $v }} {{ end }}'), '0a 1b 2c ');
  assert.equal(
    r(
      '{{ range $v := list 1 2 3 4 }}{{ if eq $v 2 }}{{ continue }}{{ end }}{{ if eq $v 4 }}{{ break }}{{ end }}{{ $v }}{{ end }}',
    ),
    '13',
  );
  assert.equal(r('{{ range 3 }}{{ . }}{{ end }}'), '012');
  assert.equal(
    r('{{ and .a .missing }}|{{ or .n .a }}|{{ and .a "y" }}|{{ not .n }}'),
    '<no value>|x|y|true',
  );
  assert.equal(
    r('{{ eq .a "x" "y" }} {{ eq .missing "x" }} {{ ne .port "5000" }} {{ lt "a" "b" }} {{ ge 2 3 }}'),
    'true false false true false',
  );
  assert.equal(
    r('{{ len .list }} {{ len "é" }} {{ index . "nothere" }}|{{ index (splitList "," .list) 1 }}'),
    '5 2 |b',
  );
  assert.equal(
    r('{{ printf "%s:%d %v %q %5s|%-3d|%03d" "a" 7 true "q\\"\\n" "r" 4 5 }}'),
    'a:7 true "q\\"\\n"     r|4  |005',
  );
  assert.equal(
    r('{{ printf "%d %s" "x" }} {{ printf "%s" .missing }} {{ printf "a" 1 }}'),
    '%!d(string=x) %!s(MISSING) %!s(<nil>) a%!(EXTRA int=1)',
  );
  assert.equal(
    r('{{ 1.5 }} {{ 2.0 }} {{ 1e6 }} {{ 0x1F }} {{ -3 }} {{ \'a\' }} {{ print 1 2 "s" 3 }}'),
    '1.5 2 1e+06 31 -3 97 1 2s3',
  );
  assert.equal(r('{{ "tab\\there\\u00e9\\x41" }}{{ `raw\\n` }}'), 'tab\thereéAraw\\n');
  assert.equal(r('{{ list 1 "a" nil }} {{ split ":" "p:q" }}'), '[1 a <nil>] map[_0:p _1:q]');
  assert.equal(
    r(
      '{{ upper "abß" }} {{ lower "AB" }} {{ trim "  x \\n" }} {{ trimSuffix ".tmpl" "a.tmpl" }} {{ trimPrefix "v" "v1" }}',
    ),
    'ABß ab x a 1',
  );
  assert.equal(
    r(
      '{{ replace "." "-" "1.2.3" }} {{ contains "b" "abc" }} {{ hasPrefix "a" "abc" }} {{ hasSuffix "c" "abc" }}',
    ),
    '1-2-3 true true true',
  );
  assert.equal(
    r('{{ join "," (list "a" nil 2) }} {{ squote "it" }} {{ quote "a" 1 }}'),
    'a,2 \'it\' "a" "1"',
  );
  assert.equal(
    r('{{ b64enc "user:pass" }} {{ b64dec "dXNlcjpwYXNz" }} {{ b64dec "%%" }}'),
    'dXNlcjpwYXNz user:pass illegal base64 data at input byte 0',
  );
  assert.equal(
    r('{{ empty .n }} {{ empty .missing }} {{ empty (list) }} {{ ternary "on" "off" (eq .a "x") }}'),
    'true true true on',
  );
  assert.equal(r('x:{{ "a\\nb" | nindent 2 }}'), 'x:\n  a\n  b');
  assert.equal(
    r('{{ with $v := .a }}{{ $v }}{{ . }}{{ end }}{{ with .missing }}no{{ else with .a }}w{{ end }}'),
    'xxw',
  );
  assert.equal(r('{{ if .n }}1{{ else if .missing }}2{{ else }}3{{ end }}'), '3');
  assert.equal(r('{{ $.a }}{{ range list 1 }}{{ $.a }}{{ end }}'), 'xx');
  assert.equal(r('{{-3}} {{3 -}} 4'), '-3 34');
});

test('errors name the file and line', () => {
  const bad = (text: string, message: string) =>
    assert.throws(
      () => renderTemplate(text, { s: 'v' }, 'etc/x.tmpl'),
      (e: unknown) => e instanceof InputError && e.exitCode === 3 && e.message === message,
    );
  assert.throws(
    () => renderTemplate('a\nb\n{{ toYaml .s }}', {}, 'etc/x.tmpl'),
    (e: unknown) =>
      e instanceof InputError &&
      e.message.startsWith('etc/x.tmpl:3: function "toYaml" not defined; berth provides: and'),
  );
  // env/expandenv would make output depend on the rendering machine.
  assert.throws(
    () => renderTemplate('{{ env "HOME" }}', {}, 'e.tmpl'),
    /e\.tmpl:1: function "env" not defined/,
  );
  bad('line1\n{{ if .s }}\nno end', 'etc/x.tmpl:3: unexpected EOF');
  bad('{{ end }}', 'etc/x.tmpl:1: unexpected {{end}}');
  // Go reports a lexer error at the line where the failing token starts: here the end of input, line 3.
  bad('\n{{ .s\n', 'etc/x.tmpl:3: unclosed action');
  bad('{{ $y }}', 'etc/x.tmpl:1: undefined variable "$y"');
  bad('{{ .foo-bar }}', "etc/x.tmpl:1: bad character U+002D '-'");
  bad('{{ /* not a comment */ }}', 'etc/x.tmpl:1: unexpected "/" in command');
  bad('{{ "\\q" }}', 'etc/x.tmpl:1: invalid syntax');
  bad('{{ "a" | 3 }}', 'etc/x.tmpl:1: non executable command in pipeline stage 2');
  bad('\n\n{{ .missing | upper }}', 'etc/x.tmpl:3: invalid value; expected string');
  bad('{{ upper 3 }}', 'etc/x.tmpl:1: expected string; found 3');
  bad('{{ upper "a" "b" }}', 'etc/x.tmpl:1: wrong number of args for upper: want 1 got 2');
  bad('{{ eq 1 "1" }}', 'etc/x.tmpl:1: error calling eq: incompatible types for comparison');
  bad('{{ index (list 1) 5 }}', 'etc/x.tmpl:1: error calling index: index out of range: 5');
  bad('{{ .s.x }}', "etc/x.tmpl:1: can't evaluate field x in type string");
  bad('{{ range .s }}{{ end }}', "etc/x.tmpl:1: range can't iterate over v");
  bad('{{ define "x" }}{{ end }}', 'etc/x.tmpl:1: {{define}} is not supported in cluster image templates');
});

test('renderTemplatesInDir renders etc, scripts and manifests, keeps modes, is idempotent', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 't-tmpl-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'scripts'), { recursive: true });
  await mkdir(join(root, 'manifests/sub'), { recursive: true });
  await mkdir(join(root, 'other'), { recursive: true });
  await writeFile(join(root, 'etc/registry.yml.tmpl'), 'addr: {{ .registryDomain }}:{{ .registryPort }}\n');
  await chmod(join(root, 'etc/registry.yml.tmpl'), 0o600);
  await writeFile(join(root, 'scripts/run.sh.tmpl'), '#!/bin/sh\necho {{ .registryPort | quote }}\n');
  await chmod(join(root, 'scripts/run.sh.tmpl'), 0o755);
  await writeFile(join(root, 'manifests/sub/app.yaml.tmpl'), 'image: {{ .registryDomain }}/app\n');
  await writeFile(join(root, 'other/skip.tmpl'), '{{ .registryDomain }}');
  await writeFile(join(root, 'etc/plain.conf'), '{{ untouched }}');
  await symlink('/etc/hostname', join(root, 'etc/link.tmpl'));
  const data = { registryDomain: 'sealos.hub', registryPort: '5000' };

  const out = await renderTemplatesInDir(root, data);
  assert.deepEqual(out, [
    join(root, 'etc/registry.yml'),
    join(root, 'manifests/sub/app.yaml'),
    join(root, 'scripts/run.sh'),
  ]);
  assert.equal(await readFile(join(root, 'etc/registry.yml'), 'utf8'), 'addr: sealos.hub:5000\n');
  assert.equal(await readFile(join(root, 'scripts/run.sh'), 'utf8'), '#!/bin/sh\necho "5000"\n');
  assert.equal(await readFile(join(root, 'manifests/sub/app.yaml'), 'utf8'), 'image: sealos.hub/app\n');
  assert.equal((await stat(join(root, 'etc/registry.yml'))).mode & 0o7777, 0o600);
  assert.equal((await stat(join(root, 'scripts/run.sh'))).mode & 0o7777, 0o755);
  await assert.rejects(lstat(join(root, 'other/skip')), { code: 'ENOENT' });
  await assert.rejects(lstat(join(root, 'etc/link')), { code: 'ENOENT' });

  const before = (await stat(join(root, 'etc/registry.yml'))).mtimeMs;
  assert.deepEqual(await renderTemplatesInDir(root, data), out);
  assert.equal((await stat(join(root, 'etc/registry.yml'))).mtimeMs, before);
  await renderTemplatesInDir(root, { ...data, registryPort: '5001' });
  assert.equal(await readFile(join(root, 'etc/registry.yml'), 'utf8'), 'addr: sealos.hub:5001\n');

  await writeFile(join(root, 'etc/broken.conf.tmpl'), 'ok\n{{ if }}\n');
  await assert.rejects(
    renderTemplatesInDir(root, data),
    (e: unknown) =>
      e instanceof InputError &&
      e.message === `${join(root, 'etc/broken.conf.tmpl')}:2: missing value for if`,
  );
});
