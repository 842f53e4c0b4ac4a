import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A server's key and certificate, PEM. */
export interface TlsIdentity {
  key: string;
  cert: string;
}

/**
 * A throwaway certificate authority, made with `openssl` when a test starts and deleted when it
 * ends: never committed. Child processes trust it through NODE_EXTRA_CA_CERTS=`caFile`, exactly
 * as a runner behind a TLS-inspecting proxy would.
 */
export class TestCertificateAuthority {
  private constructor(
    private readonly dir: string,
    /** The CA certificate, for NODE_EXTRA_CA_CERTS. */
    readonly caFile: string,
  ) {}

  static create(name = 'databricks-oidc-login test CA'): TestCertificateAuthority {
    const dir = mkdtempSync(join(tmpdir(), 'test-ca-'));
    const caFile = join(dir, 'ca.pem');
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      caFile,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return new TestCertificateAuthority(dir, caFile);
  }

  /** Issues a server certificate for these DNS names and IP addresses. */
  issue(names: { dns?: string[]; ip?: string[] }): TlsIdentity {
    const id = Math.random().toString(36).slice(2);
    const [key, csr, cert, ext] = ['key', 'csr', 'pem', 'ext'].map((e) => join(this.dir, `${id}.${e}`)) as [
      string,
      string,
      string,
      string,
    ];
    const alt = [...(names.dns ?? []).map((d) => `DNS:${d}`), ...(names.ip ?? []).map((i) => `IP:${i}`)];
    writeFileSync(ext, `subjectAltName=${alt.join(',')}\nextendedKeyUsage=serverAuth\n`);
    openssl(this.dir, [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      `/CN=${names.dns?.[0] ?? names.ip?.[0] ?? 'server'}`,
    ]);
    openssl(this.dir, [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      this.caFile,
      '-CAkey',
      join(this.dir, 'ca.key'),
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      ext,
    ]);
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A throwaway CA's certificate and one server identity it signed for 127.0.0.1 and localhost. */
export interface TestCa {
  caCert: string;
  serverKey: string;
  serverCert: string;
}

/** One-shot form of TestCertificateAuthority, for tests that need only PEM strings (a pod's ca.crt). */
export function generateTestCa(): TestCa {
  const ca = TestCertificateAuthority.create();
  try {
    const server = ca.issue({ dns: ['localhost', 'kubernetes.default.svc'], ip: ['127.0.0.1'] });
    return { caCert: readFileSync(ca.caFile, 'utf8'), serverKey: server.key, serverCert: server.cert };
  } finally {
    ca.dispose();
  }
}
