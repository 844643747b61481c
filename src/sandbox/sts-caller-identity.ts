// GetCallerIdentity answers of the STS emulator: the real XML, and the faults tests inject
// (throttling, outage, slow, oversized, malformed, a redirect) to prove dab fails closed.
import { randomUUID } from 'node:crypto';
import { errorDocument, XMLNS, xml } from './sts-query-protocol.js';

export type IdentityFault = 'throttle' | 'server_error' | 'hang' | 'oversized' | 'malformed' | 'redirect' | 'wrong_document';

export function callerIdentityResponse(arn: string, userId: string): string {
  const account = arn.split(':')[4] ?? '';
  return `<GetCallerIdentityResponse xmlns="${XMLNS}">\n  <GetCallerIdentityResult>\n    <Arn>${xml(arn)}</Arn>\n`
    + `    <UserId>${xml(userId)}</UserId>\n    <Account>${account}</Account>\n  </GetCallerIdentityResult>\n`
    + `  <ResponseMetadata>\n    <RequestId>${randomUUID()}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n`;
}

export function identityFaultResponse(fault: IdentityFault): 'hang' | { status: number; headers: Record<string, string>; body: string } {
  const xmlHeaders = { 'content-type': 'text/xml' };
  switch (fault) {
    case 'hang':
      return 'hang';
    case 'throttle':
      return { status: 400, headers: xmlHeaders, body: errorDocument('Throttling', 'Rate exceeded') };
    case 'server_error':
      return { status: 503, headers: xmlHeaders, body: errorDocument('ServiceUnavailable', 'Service is unavailable', 'Receiver') };
    case 'oversized':
      return { status: 200, headers: xmlHeaders, body: callerIdentityResponse('arn:aws:iam::999999999999:user/big', 'AIDABIG').replace('</GetCallerIdentityResponse>', `<!--${'x'.repeat(64 * 1024)}--></GetCallerIdentityResponse>`) };
    case 'malformed':
      return { status: 200, headers: xmlHeaders, body: `<GetCallerIdentityResponse xmlns="${XMLNS}"><GetCallerIdentityResult><Arn>arn:aws:iam::999999999999:user/x` };
    case 'wrong_document':
      // Another action's answer carrying an Arn: only a GetCallerIdentityResponse may be believed.
      return { status: 200, headers: xmlHeaders, body: `<AssumeRoleResponse xmlns="${XMLNS}"><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:iam::999999999999:role/admin</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>` };
    case 'redirect':
      return { status: 307, headers: { location: 'http://127.0.0.1:9/?Action=GetCallerIdentity' }, body: '' };
  }
}
