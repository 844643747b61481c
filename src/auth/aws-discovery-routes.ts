import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AwsAuthConfig } from '../config/config-schema.js';
import { AppError } from '../http/problem.js';
import { errorResponses } from '../http/route-helpers.js';

const AwsAuthInfo = Type.Object(
  {
    serverId: Type.String({ description: 'Sign it as the x-dab-server-id header of the proof' }),
    proofFormat: Type.Literal('dab-aws-v1', { description: 'Authorization: Bearer dab-aws-v1.<base64url of the presigned GetCallerIdentity URL>' }),
    maxProofAgeSeconds: Type.Integer({ description: 'How old (by X-Amz-Date) a proof may be' }),
    tiers: Type.Array(Type.String(), { description: 'The route tiers that accept AWS IAM callers' }),
  },
  { $id: 'AwsAuthInfo', additionalProperties: false },
);

/**
 * Unauthenticated: what an AWS caller needs to build a proof for this dab (nothing secret: the
 * server id only binds a proof to its audience, as a JWT's aud does). 404 when AWS callers are off.
 */
export const awsDiscoveryRoutes: FastifyPluginAsyncTypebox<{ aws: AwsAuthConfig | undefined }> = async (app, { aws }) => {
  app.get('/v1/auth/aws', {
    schema: {
      operationId: 'awsAuthInfo',
      tags: ['auth'],
      summary: 'How to prove an AWS IAM identity to this dab (server id, proof format)',
      response: { 200: AwsAuthInfo, ...errorResponses(404) },
    },
  }, async function awsAuthInfo() {
    if (!aws) throw new AppError('not_found', 'this dab does not accept AWS IAM callers (auth.aws is not configured)');
    return { serverId: aws.serverId, proofFormat: 'dab-aws-v1' as const, maxProofAgeSeconds: aws.maxProofAgeSeconds, tiers: [...aws.tiers] };
  });
};
